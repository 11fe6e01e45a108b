//! The rest of what the kernel's vimc capture answers: ENUM_FRAMESIZES, the
//! core's single input of an `IO_MC` node, CREATE_BUFS, PREPARE_BUF,
//! priorities; EXPBUF as a driver without dma-buf export.

use devlife_drivers::Style;
use devlife_media::uapi::io::*;
use devlife_media::uapi::ioctl::get_str;
use devlife_media::uapi::videodev2::*;
use devlife_media::v4l2::prio::{PRIORITY_INTERACTIVE, PRIORITY_RECORD};
use devlife_model::{Errno, File, KResult};
use devlife_testkit::vimc::*;

fn framesize(f: &File, index: u32, fourcc: u32) -> KResult<V4l2Frmsizeenum> {
    let mut fs = V4l2Frmsizeenum {
        index,
        pixel_format: fourcc,
        // INFO_FL_CLEAR: everything after pixel_format is ignored.
        u: [7; 6],
        ..Default::default()
    };
    ioc(f, VIDIOC_ENUM_FRAMESIZES, &mut fs).map(|_| fs)
}

#[test]
fn enum_framesizes_is_one_continuous_range_per_format() {
    let r = Rig::new(Style::Framework, NEVER);
    let f = r.open("Raw Capture 0");
    let fs = framesize(&f, 0, pix_fmt::RGB24).unwrap();
    assert_eq!(fs.type_, frmsize_type::CONTINUOUS);
    assert_eq!(
        fs.stepwise(),
        Stepwise {
            min_width: 16,
            max_width: 4096,
            step_width: 1,
            min_height: 16,
            max_height: 2160,
            step_height: 1
        }
    );
    assert_eq!(fs.reserved, [0; 2]);
    assert_eq!(framesize(&f, 1, pix_fmt::RGB24).err(), Some(Errno::EINVAL));
    assert_eq!(
        framesize(&f, 0, fourcc(b'X', b'X', b'X', b'X')).err(),
        Some(Errno::EINVAL)
    );
    assert!(framesize(&f, 0, pix_fmt::SRGGB8).is_ok());
    drop(f);
    r.assert_silent();
}

#[test]
fn an_io_mc_node_has_the_cores_single_camera_input() {
    let r = Rig::new(Style::Framework, NEVER);
    let f = r.open("RGB/YUV Capture");
    let mut i = V4l2Input {
        index: 0,
        tuner: 99,
        ..Default::default()
    };
    ioc(&f, VIDIOC_ENUMINPUT, &mut i).unwrap();
    assert_eq!(get_str(&i.name), "RGB/YUV Capture");
    assert_eq!(
        (i.type_, i.tuner, i.capabilities),
        (V4L2_INPUT_TYPE_CAMERA, 0, 0)
    );
    let mut i = V4l2Input {
        index: 1,
        ..Default::default()
    };
    assert_eq!(ioc(&f, VIDIOC_ENUMINPUT, &mut i).err(), Some(Errno::EINVAL));
    let mut n = 5u32;
    ioc(&f, VIDIOC_G_INPUT, &mut n).unwrap();
    assert_eq!(n, 0);
    let mut n = 0u32;
    ioc(&f, VIDIOC_S_INPUT, &mut n).unwrap();
    let mut n = 1u32;
    assert_eq!(ioc(&f, VIDIOC_S_INPUT, &mut n).err(), Some(Errno::EINVAL));
    drop(f);
    r.assert_silent();
}

fn create(f: &File, count: u32, sizeimage: u32) -> KResult<V4l2CreateBuffers> {
    let mut fmt = V4l2Format {
        type_: buf_type::VIDEO_CAPTURE,
        ..Default::default()
    };
    let mut pix = g_fmt(f).unwrap();
    pix.sizeimage = sizeimage;
    fmt.set_pix(&pix);
    let mut c = V4l2CreateBuffers {
        count,
        memory: memory::MMAP,
        format: fmt,
        max_num_buffers: 77,
        ..Default::default()
    };
    ioc(f, VIDIOC_CREATE_BUFS, &mut c).map(|_| c)
}

#[test]
fn create_bufs_adds_buffers_and_prepare_buf_marks_them() {
    let r = Rig::new(Style::Framework, NEVER);
    let f = r.open("Raw Capture 1");
    let size = g_fmt(&f).unwrap().sizeimage;
    // count == 0: only the capabilities.
    let c = create(&f, 0, size).unwrap();
    assert_eq!((c.index, c.count), (0, 0));
    assert_ne!(c.capabilities & buf_cap::SUPPORTS_MMAP, 0);
    // As Linux 6.1: no max_num_buffers (a reserved field there).
    assert_eq!((c.max_num_buffers, c.reserved), (0, [0; 5]));
    // Too small for the format: EINVAL; larger is fine.
    assert_eq!(create(&f, 2, size - 1).err(), Some(Errno::EINVAL));
    let r2 = reqbufs(&f, 2).unwrap();
    let c = create(&f, 3, size * 2).unwrap();
    assert_eq!((c.index, c.count), (r2.count, 3));
    let b = querybuf(&f, c.index).unwrap();
    assert_eq!(b.length, size * 2);
    // PREPARE_BUF: flagged, once; QBUF takes it.
    let mut p = buf(c.index);
    ioc(&f, VIDIOC_PREPARE_BUF, &mut p).unwrap();
    assert_ne!(p.flags & buf_flag::PREPARED, 0);
    assert_ne!(querybuf(&f, c.index).unwrap().flags & buf_flag::PREPARED, 0);
    let mut again = buf(c.index);
    assert_eq!(
        ioc(&f, VIDIOC_PREPARE_BUF, &mut again).err(),
        Some(Errno::EINVAL)
    );
    let q = qbuf(&f, c.index).unwrap();
    assert_eq!(q.flags & buf_flag::PREPARED, 0);
    assert_ne!(q.flags & buf_flag::QUEUED, 0);
    let mut queued = buf(c.index);
    assert_eq!(
        ioc(&f, VIDIOC_PREPARE_BUF, &mut queued).err(),
        Some(Errno::EINVAL)
    );
    let mut out_of_range = buf(99);
    assert_eq!(
        ioc(&f, VIDIOC_PREPARE_BUF, &mut out_of_range).err(),
        Some(Errno::EINVAL)
    );
    // Another file does not own the queue.
    let g = r.open("Raw Capture 1");
    assert_eq!(create(&g, 1, size).err(), Some(Errno::EBUSY));
    // No dma-buf can cross FUSE: EXPBUF is not there, as for a driver
    // without dma-buf export.
    let mut e = V4l2Exportbuffer {
        type_: buf_type::VIDEO_CAPTURE,
        ..Default::default()
    };
    assert_eq!(ioc(&f, VIDIOC_EXPBUF, &mut e).err(), Some(Errno::ENOTTY));
    reqbufs(&f, 0).unwrap();
    drop((f, g));
    r.assert_silent();
}

#[test]
fn a_record_priority_file_locks_the_others_out() {
    let r = Rig::new(Style::Framework, NEVER);
    let a = r.open("Raw Capture 0");
    let b = r.open("Raw Capture 0");
    let mut p = PRIORITY_RECORD;
    ioc(&a, VIDIOC_S_PRIORITY, &mut p).unwrap();
    let mut g = 0u32;
    ioc(&b, VIDIOC_G_PRIORITY, &mut g).unwrap();
    assert_eq!(g, PRIORITY_RECORD);
    assert_eq!(reqbufs(&b, 2).err(), Some(Errno::EBUSY));
    let pix = g_fmt(&b).unwrap();
    assert_eq!(s_fmt(&b, &pix).err(), Some(Errno::EBUSY));
    assert!(s_fmt(&a, &pix).is_ok());
    drop(a);
    ioc(&b, VIDIOC_G_PRIORITY, &mut g).unwrap();
    assert_eq!(g, PRIORITY_INTERACTIVE);
    assert!(reqbufs(&b, 2).is_ok());
    reqbufs(&b, 0).unwrap();
    drop(b);
    r.assert_silent();
}
