//! MMAP streaming over FUSE: the server's copy of each V4L2 buffer.
//!
//! FUSE shares no memory with the server: a client's `mmap` of a video node
//! maps the FUSE page cache of the file, which the server fills with
//! `Notifier::store` (and which refaults through READ when pages are evicted).
//! So each buffer gets a place in the file: the server rewrites the mmap
//! cookie of `VIDIOC_QUERYBUF`/`QBUF`/`DQBUF` to `(index + 1) << BUF_SHIFT`
//! (the model's cookies, `index << 15`, would overlap once a buffer is larger
//! than 32 KiB), maps the buffer itself with the model's `File::mmap`, and at
//! each `DQBUF` copies the frame out of that mapping, stores it at the
//! buffer's offset, and only then lets the reply go. Offset 0 is never a
//! buffer, so a `read()` (which on a direct-I/O file arrives with the file
//! position) is told apart from a page fault. Details in docs/fuse.md ("mmap").

use devlife_media::uapi::ioctl::Wire;
use devlife_media::uapi::videodev2::{
    V4l2Buffer, VIDIOC_DQBUF, VIDIOC_QBUF, VIDIOC_QUERYBUF, VIDIOC_REQBUFS, buf_type, memory,
};
use devlife_model::{File, Mapping, MmapRequest};
use fuser::{INodeNo, Notifier};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::sync::Arc;

/// log2 of the room each buffer has in the file (64 MiB, more than any frame
/// the drivers produce).
pub const BUF_SHIFT: u32 = 26;
/// Most buffers a queue can have (`VB2_MAX_FRAME`).
const MAX_BUFFERS: u64 = 32;
/// `st_size` of a video node: every buffer's place lies inside it (a page
/// fault past the size would be SIGBUS).
pub const FILE_SIZE: u64 = (MAX_BUFFERS + 1) << BUF_SHIFT;
const PAGE: usize = 4096;

/// The file offset of buffer `index`.
pub fn buffer_offset(index: u32) -> u64 {
    (u64::from(index) + 1) << BUF_SHIFT
}

struct Shadow {
    mapping: Mapping,
    /// Page-rounded copy of the buffer, as last stored.
    copy: Arc<RwLock<Vec<u8>>>,
}

/// The buffers of one open video file, by index.
///
/// # Invariants
///
/// Each entry maps a buffer of the file's current queue (entries are dropped
/// at `VIDIOC_REQBUFS`); `copy` is what the client's mapping shows, so a
/// READ of an evicted page returns the same bytes.
#[derive(Default)]
pub(crate) struct Buffers {
    by_index: Mutex<HashMap<u32, Shadow>>,
}

impl Buffers {
    /// Bytes of a mapped buffer at file offset `offset` (a page fault), or
    /// `None` when `offset` is not inside a buffer the server maps.
    pub(crate) fn read(&self, offset: u64, size: u32) -> Option<Vec<u8>> {
        if offset < (1 << BUF_SHIFT) {
            return None;
        }
        let index = u32::try_from((offset >> BUF_SHIFT) - 1).ok()?;
        let copy = self.by_index.lock().get(&index)?.copy.clone();
        let c = copy.read();
        let start = usize::try_from(offset - buffer_offset(index)).ok()?;
        let start = start.min(c.len());
        let end = start.saturating_add(size as usize).min(c.len());
        let mut v = c[start..end].to_vec();
        // Past the buffer, inside the file: zeros (never SIGBUS).
        v.resize(size as usize, 0);
        Some(v)
    }

    /// Post-processes a successful buffer ioctl of `file` (served as inode
    /// `ino`): rewrites the mmap cookie, maps new buffers, and at `DQBUF`
    /// stores the frame in the page cache before the reply goes out.
    pub(crate) fn after_ioctl(
        &self,
        file: &File,
        n: &Notifier,
        ino: u64,
        cmd: u32,
        arg: &mut [u8],
    ) {
        if cmd == VIDIOC_REQBUFS {
            let old: Vec<Shadow> = self.by_index.lock().drain().map(|(_, s)| s).collect();
            if !old.is_empty() {
                let _ = n.inval_inode(
                    INodeNo(ino),
                    1 << BUF_SHIFT,
                    (MAX_BUFFERS << BUF_SHIFT) as i64,
                );
            }
            drop(old);
            return;
        }
        if cmd != VIDIOC_QUERYBUF && cmd != VIDIOC_QBUF && cmd != VIDIOC_DQBUF {
            return;
        }
        if arg.len() < V4l2Buffer::SIZE {
            return;
        }
        let mut b = V4l2Buffer::decode(arg);
        if b.memory != memory::MMAP
            || (b.type_ != buf_type::VIDEO_CAPTURE && b.type_ != buf_type::VIDEO_OUTPUT)
            || u64::from(b.index) >= MAX_BUFFERS
            || b.length as usize > 1 << BUF_SHIFT
        {
            return;
        }
        let copy = {
            let mut m = self.by_index.lock();
            if let std::collections::hash_map::Entry::Vacant(e) = m.entry(b.index) {
                let req = MmapRequest {
                    offset: u64::from(b.m_offset()),
                    len: b.length as usize,
                    write: false,
                };
                let Ok(mapping) = file.mmap(req) else {
                    return;
                };
                let len = (b.length as usize).div_ceil(PAGE) * PAGE;
                e.insert(Shadow {
                    mapping,
                    copy: Arc::new(RwLock::new(vec![0; len])),
                });
            }
            let s = &m[&b.index];
            if cmd == VIDIOC_DQBUF {
                let mut c = s.copy.write();
                let len = (b.length as usize).min(c.len()).min(s.mapping.len());
                let _ = s.mapping.read(0, &mut c[..len]);
            }
            s.copy.clone()
        };
        if cmd == VIDIOC_DQBUF {
            // Synchronous: the client's mapping shows the frame once this
            // returns. Not under the map lock: a page fault's READ may need it.
            let c = copy.read();
            let _ = n.store(INodeNo(ino), buffer_offset(b.index), &c);
        }
        if let Ok(off) = u32::try_from(buffer_offset(b.index)) {
            b.set_m_offset(off);
            b.encode(arg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_places_fit_the_file_and_the_cookie_field() {
        assert_eq!(buffer_offset(0), 1 << BUF_SHIFT);
        let last = buffer_offset((MAX_BUFFERS - 1) as u32);
        assert!(last + (1 << BUF_SHIFT) <= FILE_SIZE);
        assert!(u32::try_from(last).is_ok());
        let b = Buffers::default();
        assert_eq!(b.read(0, 10), None);
        assert_eq!(b.read(buffer_offset(3), 10), None);
    }
}
