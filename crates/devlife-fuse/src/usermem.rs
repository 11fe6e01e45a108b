//! The memory of the process whose request is being served, reached with
//! `process_vm_readv` / `process_vm_writev`.
//!
//! A restricted FUSE ioctl carries only the `_IOC_SIZE` bytes of its argument;
//! pointers embedded in it (`media_links_enum.pads`, `media_v2_topology.ptr_*`)
//! point into the caller's address space. Installing a [`ProcessMemory`] with
//! `devlife_media::uapi::ioctl::with_current_mm` around the model call makes the
//! media crate follow them there, like `copy_to_user` on `current->mm`.

use devlife_media::uapi::ioctl::{Fault, UserMemory};

/// The address space of one thread of a client process (the `pid` of a FUSE
/// request is the caller's thread id; `process_vm_*` accept it).
///
/// # Invariants
///
/// Every access either transfers all its bytes or returns [`Fault`]; nothing
/// is read from or written to this process's own memory outside the given
/// buffer.
#[derive(Debug, Clone, Copy)]
pub struct ProcessMemory {
    pid: libc::pid_t,
}

impl ProcessMemory {
    /// The memory of thread `pid` (as FUSE reports it).
    pub fn new(pid: u32) -> Self {
        Self {
            pid: libc::pid_t::try_from(pid).unwrap_or(0),
        }
    }
}

impl UserMemory for ProcessMemory {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), Fault> {
        if buf.is_empty() {
            return Ok(());
        }
        if self.pid <= 0 || addr.checked_add(buf.len() as u64).is_none() {
            return Err(Fault);
        }
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let remote = libc::iovec {
            iov_base: addr as usize as *mut libc::c_void,
            iov_len: buf.len(),
        };
        // SAFETY: `local` describes `buf`, which is valid for writes of
        // `buf.len()` bytes for the whole call; the kernel validates `remote`
        // against the other process's mappings and fails with EFAULT instead of
        // touching anything else. One iovec each, as the counts say.
        let n = unsafe { libc::process_vm_readv(self.pid, &local, 1, &remote, 1, 0) };
        if n == buf.len() as isize {
            Ok(())
        } else {
            Err(Fault)
        }
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), Fault> {
        if data.is_empty() {
            return Ok(());
        }
        if self.pid <= 0 || addr.checked_add(data.len() as u64).is_none() {
            return Err(Fault);
        }
        let local = libc::iovec {
            iov_base: data.as_ptr() as *mut libc::c_void,
            iov_len: data.len(),
        };
        let remote = libc::iovec {
            iov_base: addr as usize as *mut libc::c_void,
            iov_len: data.len(),
        };
        // SAFETY: `local` describes `data`, valid for reads of `data.len()`
        // bytes (the kernel only reads it); `remote` is checked by the kernel
        // against the target's mappings (EFAULT otherwise).
        let n = unsafe { libc::process_vm_writev(self.pid, &local, 1, &remote, 1, 0) };
        if n == data.len() as isize {
            Ok(())
        } else {
            Err(Fault)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_own_memory_and_faults_on_bad_addresses() {
        let me = ProcessMemory::new(std::process::id());
        let src = [1u8, 2, 3, 4];
        let mut dst = [0u8; 4];
        if me.read(src.as_ptr() as u64, &mut dst).is_err() {
            // Without CAP_SYS_PTRACE-equivalent rights (ptrace_scope) the
            // syscall is refused; nothing to test here.
            eprintln!("process_vm_readv refused on ourselves; skipping");
            return;
        }
        assert_eq!(dst, src);
        let mut target = [0u8; 2];
        me.write(target.as_mut_ptr() as u64, &[9, 8]).unwrap();
        assert_eq!(std::hint::black_box(target), [9, 8]);
        assert_eq!(me.read(8, &mut dst), Err(Fault));
        assert_eq!(me.write(u64::MAX - 1, &[1, 2, 3]), Err(Fault));
    }
}
