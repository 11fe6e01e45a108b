//! usb-av (framework style): topology, formats, video streaming through the
//! buffer queue and `read()`, audio streaming through `read()`, the PCM
//! ioctls, and the shared source claimed through the allocator's hooks.

use devlife_drivers::Style;
use devlife_drivers::usb_av::hw::{audio_frame, video_byte};
use devlife_drivers::usb_av::pcm::{self, PcmHwParams, client, state};
use devlife_drivers::usb_av::{AUDIO_NAME, DECODER_NAME, DECODER_PAD_AUDIO, VIDEO_NAME};
use devlife_media::mc::MediaDevice;
use devlife_media::uapi::ioctl::get_str;
use devlife_media::uapi::media::*;
use devlife_media::uapi::subdev::*;
use devlife_media::uapi::videodev2::*;
use devlife_model::Errno;
use devlife_testkit::usb_av::*;

fn entity_id(m: &MediaDevice, name: &str) -> u32 {
    m.graph().entity_by_name(name).expect(name)
}

fn read_exact(f: &devlife_model::File, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = vec![0u8; n];
    while out.len() < n {
        let got = f.read(&mut b[..n - out.len()]).unwrap();
        out.extend_from_slice(&b[..got]);
    }
    out
}

#[test]
fn topology_nodes_and_device_info() {
    let rig = Rig::new(Style::Framework);
    let nodes = rig.nodes();
    assert_eq!(nodes.media.as_deref(), Some("media0"));
    assert_eq!(nodes.video.as_deref(), Some("video0"));
    assert_eq!(nodes.subdev.as_deref(), Some("v4l-subdev0"));
    assert_eq!(nodes.pcm.as_deref(), Some("pcmC0D0c"));

    let m = rig.av.media_device(&rig.udev).unwrap();
    {
        let g = m.graph();
        let names: Vec<String> = g.entities().into_iter().map(|e| e.name).collect();
        assert_eq!(names, [DECODER_NAME, VIDEO_NAME, AUDIO_NAME]);
        // 2 data links + 3 interface links; video, subdev and PCM interfaces.
        assert_eq!((g.num_links(), g.num_interfaces(), g.num_pads()), (5, 3, 5));
    }
    let t = rig.av.topology(&rig.udev).unwrap();
    for line in [
        "driver          usbav-video",
        "model           devlife USB-AV",
        "bus info        usb-devlife-1-1",
        "type V4L2 subdev subtype Decoder flags 0",
        "device node name /dev/v4l-subdev0",
        "[stream:0 fmt:YUYV8_2X8/720x480 field:none colorspace:smpte170m]",
        "-> \"USB-AV Video\":0 [ENABLED,IMMUTABLE]",
        "-> \"USB-AV Audio Capture\":0 [ENABLED]",
        "device node name /dev/video0",
        "device node name /dev/pcmC0D0c",
        "pad0: SINK,MUST_CONNECT",
    ] {
        assert!(t.contains(line), "missing `{line}` in\n{t}");
    }

    // Through the media node.
    let mf = rig.open_media();
    let info = media_info(&mf).unwrap();
    assert_eq!(get_str(&info.driver), "usbav-video");
    assert_eq!(get_str(&info.model), "devlife USB-AV");
    drop((mf, m));
    rig.finish();
}

#[test]
fn video_formats_and_link_validation() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let c = querycap(&f).unwrap();
    assert_eq!(get_str(&c.driver), "usbav-video");
    assert_eq!(get_str(&c.card), "devlife USB-AV");
    assert_eq!(get_str(&c.bus_info), "usb-devlife-1-1");
    assert_ne!(c.device_caps & cap::VIDEO_CAPTURE, 0);
    assert_ne!(c.device_caps & cap::STREAMING, 0);
    assert_eq!(enum_fmt(&f, 0).unwrap().pixelformat, pix_fmt::YUYV);
    assert_eq!(enum_fmt(&f, 1).unwrap_err(), Errno::EINVAL);

    let p = g_fmt(&f).unwrap();
    assert_eq!(
        (p.width, p.height, p.pixelformat),
        (720, 480, pix_fmt::YUYV)
    );
    assert_eq!((p.bytesperline, p.sizeimage), (1440, 720 * 480 * 2));
    // TRY picks the closest size and YUYV, without changing the format.
    let t = set_fmt(&f, VIDIOC_TRY_FMT, &pix_format(400, 300, pix_fmt::RGB24)).unwrap();
    assert_eq!(
        (t.width, t.height, t.pixelformat),
        (320, 240, pix_fmt::YUYV)
    );
    assert_eq!(g_fmt(&f).unwrap().width, 720);
    set_fmt(&f, VIDIOC_S_FMT, &pix_format(320, 240, pix_fmt::YUYV)).unwrap();
    assert_eq!(g_fmt(&f).unwrap().sizeimage, 320 * 240 * 2);
    // The hardware was programmed.
    assert_eq!(rig.udev.hardware().peek(0x08), (320 << 16) | 240);

    // The decoder still produces 720x480: the pipeline does not validate.
    reqbufs(&f, 2).unwrap();
    qbuf(&f, 0).unwrap();
    assert_eq!(streamon(&f), Err(Errno::EPIPE));
    // Configure the decoder through its subdev node.
    let sd = rig.open_subdev();
    let d = subdev_g_fmt(&sd, V4L2_SUBDEV_FORMAT_ACTIVE, 1).unwrap();
    assert_eq!((d.width, d.height, d.code), (720, 480, 0x2008));
    let mut want = d;
    want.width = 330;
    want.height = 250;
    let got = subdev_s_fmt(&sd, V4L2_SUBDEV_FORMAT_ACTIVE, 1, want).unwrap();
    assert_eq!((got.width, got.height), (320, 240));
    // The input pad is fixed.
    let mut fx = subdev_g_fmt(&sd, V4L2_SUBDEV_FORMAT_ACTIVE, 0).unwrap();
    fx.width = 64;
    assert_eq!(
        subdev_s_fmt(&sd, V4L2_SUBDEV_FORMAT_ACTIVE, 0, fx)
            .unwrap()
            .width,
        720
    );
    streamon(&f).unwrap();
    let b = dqbuf(&f).unwrap();
    assert_eq!(b.bytesused, 320 * 240 * 2);
    streamoff(&f).unwrap();
    drop((f, sd));
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn video_streams_frames_through_mmap_buffers() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let n = start_stream(&f, 4).unwrap();
    assert_eq!(n, 4);
    let maps: Vec<_> = (0..n).map(|i| map_buffer(&f, i).unwrap()).collect();
    let mut last_frame = None;
    for k in 0..10u32 {
        let b = dqbuf(&f).unwrap();
        assert_eq!(b.sequence, k);
        assert_eq!(b.bytesused, 720 * 480 * 2);
        assert_eq!(b.flags & buf_flag::ERROR, 0);
        let m = &maps[b.index as usize];
        let mut head = [0u8; 8];
        m.read(0, &mut head).unwrap();
        let frame = u32::from_le_bytes(head[..4].try_into().unwrap());
        if let Some(l) = last_frame {
            assert_eq!(frame, l + 1, "frames come in order");
        }
        last_frame = Some(frame);
        // Spot checks across URB boundaries.
        for off in [4usize, 5, 65_535, 65_536, 65_537, 691_198, 691_199] {
            let mut x = [0u8];
            m.read(off, &mut x).unwrap();
            assert_eq!(x[0], video_byte(frame, off), "frame {frame} offset {off}");
        }
        qbuf(&f, b.index).unwrap();
    }
    streamoff(&f).unwrap();
    let c = rig.av.counters();
    assert_eq!((c.video_starts, c.video_stops), (1, 1));
    assert!(c.video_frames >= 10);
    // The stream released the source: the decoder pads stream no more.
    let m = rig.av.media_device(&rig.udev).unwrap();
    let dec = entity_id(&m, DECODER_NAME);
    let pad = devlife_media::mc::PadKey {
        entity: dec,
        index: 1,
    };
    assert!(!m.graph().pad_is_streaming(pad));
    drop((maps, f, m));
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn video_read_io() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_video();
    let size = 720 * 480 * 2;
    let a = read_exact(&f, size);
    let b = read_exact(&f, size);
    let fa = u32::from_le_bytes(a[..4].try_into().unwrap());
    let fb = u32::from_le_bytes(b[..4].try_into().unwrap());
    assert!(fb > fa);
    for off in [4usize, 1001, 400_000, size - 1] {
        assert_eq!(a[off], video_byte(fa, off));
        assert_eq!(b[off], video_byte(fb, off));
    }
    drop(f);
    assert_eq!(rig.av.counters().video_stops, 1, "close stops the stream");
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn audio_read_streams_samples() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_pcm();
    assert_eq!(client::status(&f).unwrap().state, state::OPEN);
    // read() on an unconfigured stream configures the defaults and starts.
    let data = read_exact(&f, 8192);
    let frames = client::frames(&data);
    for (i, fr) in frames.iter().enumerate() {
        assert_eq!(*fr, audio_frame(i as u32), "frame {i}");
    }
    let s = client::status(&f).unwrap();
    assert_eq!(s.state, state::RUNNING);
    assert_eq!(
        (s.rate, s.channels, s.format),
        (48000, 2, pcm::FORMAT_S16_LE)
    );
    assert!(s.frames >= 2048);
    // The stream continues where it was.
    let more = client::frames(&read_exact(&f, 4096));
    assert_eq!(more[0], audio_frame(2048));
    assert_eq!(more[1023], audio_frame(3071));
    // The device was programmed.
    assert_eq!(rig.udev.hardware().peek(0x24), 48000);
    assert_eq!(rig.udev.hardware().peek(0x20), 1);
    client::cmd(&f, pcm::PCM_IOCTL_DROP).unwrap();
    assert_eq!(client::status(&f).unwrap().state, state::SETUP);
    assert_eq!(rig.udev.hardware().peek(0x20), 0);
    client::cmd(&f, pcm::PCM_IOCTL_HW_FREE).unwrap();
    assert_eq!(client::status(&f).unwrap().state, state::OPEN);
    let c = rig.av.counters();
    assert_eq!((c.audio_starts, c.audio_stops), (1, 1));
    assert!(c.audio_periods >= 12);
    drop(f);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn pcm_ioctls_and_states() {
    let rig = Rig::new(Style::Framework);
    let f = rig.open_pcm();
    // One substream, one opener.
    let pcm_node = rig.nodes().pcm.unwrap();
    assert_eq!(client::open(&rig.k, &pcm_node).unwrap_err(), Errno::EBUSY);
    let mut v = [0u8; 4];
    f.ioctl(pcm::PCM_IOCTL_PVERSION, &mut v).unwrap();
    assert_eq!(u32::from_le_bytes(v), pcm::PCM_VERSION);
    assert_eq!(client::cmd(&f, pcm::PCM_IOCTL_START), Err(pcm::EBADFD));
    assert_eq!(client::cmd(&f, pcm::PCM_IOCTL_PREPARE), Err(pcm::EBADFD));
    let bad = PcmHwParams {
        channels: 1,
        ..PcmHwParams::DEFAULT
    };
    assert_eq!(client::hw_params(&f, bad), Err(Errno::EINVAL));
    let p = client::hw_params(
        &f,
        PcmHwParams {
            rate: 32000,
            period_bytes: 0,
            ..PcmHwParams::DEFAULT
        },
    )
    .unwrap();
    assert_eq!((p.rate, p.period_bytes), (32000, 1024));
    client::cmd(&f, pcm::PCM_IOCTL_PREPARE).unwrap();
    assert_eq!(rig.udev.hardware().peek(0x24), 32000);
    client::cmd(&f, pcm::PCM_IOCTL_START).unwrap();
    assert_eq!(
        client::hw_params(&f, PcmHwParams::DEFAULT),
        Err(pcm::EBADFD),
        "no HW_PARAMS while running"
    );
    assert_eq!(f.ioctl(0x4199, &mut []), Err(Errno::ENOTTY));
    let mut short = [0u8; 4];
    assert_eq!(
        f.ioctl(pcm::PCM_IOCTL_STATUS, &mut short),
        Err(Errno::EFAULT)
    );
    drop(f);
    // Close released the stream and the source: another opener can go.
    let g = client::open(&rig.k, &pcm_node).unwrap();
    assert_eq!(client::status(&g).unwrap().state, state::OPEN);
    let c = rig.av.counters();
    assert_eq!(c.source_enables, 1);
    assert_eq!(c.source_disables, 1);
    drop(g);
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn audio_claims_the_decoder_through_the_video_drivers_hook() {
    let rig = Rig::new(Style::Framework);
    let m = rig.av.media_device(&rig.udev).unwrap();
    let dec = entity_id(&m, DECODER_NAME);
    let aud = entity_id(&m, AUDIO_NAME);
    let mf = rig.open_media();
    let f = rig.open_pcm();
    client::hw_params(&f, PcmHwParams::DEFAULT).unwrap();
    // The hook routed the decoder's audio and started the source pipeline.
    assert_eq!(rig.udev.hardware().peek(0x0c), 1);
    assert_eq!(rig.av.counters().source_enables, 1);
    // A link of a streaming pad cannot change.
    assert_eq!(
        setup_link(&mf, (dec, DECODER_PAD_AUDIO), (aud, 0), 0),
        Err(Errno::EBUSY)
    );
    client::cmd(&f, pcm::PCM_IOCTL_HW_FREE).unwrap();
    assert_eq!(rig.udev.hardware().peek(0x0c), 0);
    // Idle: the link can be disabled; then the audio pad (MUST_CONNECT)
    // has no enabled link and claiming the source fails.
    setup_link(&mf, (dec, DECODER_PAD_AUDIO), (aud, 0), 0).unwrap();
    assert_eq!(
        client::hw_params(&f, PcmHwParams::DEFAULT),
        Err(devlife_media::mc::ENOLINK)
    );
    let mut buf = [0u8; 64];
    assert_eq!(f.read(&mut buf), Err(devlife_media::mc::ENOLINK));
    setup_link(
        &mf,
        (dec, DECODER_PAD_AUDIO),
        (aud, 0),
        MEDIA_LNK_FL_ENABLED,
    )
    .unwrap();
    assert_eq!(f.read(&mut buf).unwrap(), 64);
    drop((f, mf, m));
    no_reports(&rig.k);
    rig.finish();
}

#[test]
fn video_and_audio_share_the_source() {
    let rig = Rig::new(Style::Framework);
    let v = rig.open_video();
    start_stream(&v, 3).unwrap();
    let a = rig.open_pcm();
    // Audio joins the source video claimed.
    let samples = client::frames(&read_exact(&a, 4096));
    assert_eq!(samples[17], audio_frame(17));
    for _ in 0..4 {
        let b = dqbuf(&v).unwrap();
        qbuf(&v, b.index).unwrap();
    }
    let c = rig.av.counters();
    assert_eq!(c.source_enables, 2);
    // Video stops; audio keeps the source and keeps streaming.
    streamoff(&v).unwrap();
    let m = rig.av.media_device(&rig.udev).unwrap();
    let dec = entity_id(&m, DECODER_NAME);
    let key = |index| devlife_media::mc::PadKey { entity: dec, index };
    assert!(m.graph().pad_is_streaming(key(DECODER_PAD_AUDIO)));
    assert_eq!(read_exact(&a, 1024).len(), 1024);
    drop(a);
    assert!(!m.graph().pad_is_streaming(key(DECODER_PAD_AUDIO)));
    assert!(!m.graph().pad_is_streaming(key(0)));
    drop((v, m));
    no_reports(&rig.k);
    rig.finish();
}
