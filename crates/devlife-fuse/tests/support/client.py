"""A small V4L2 / media client (fcntl + struct) for the devlife-fuse tests.

Subcommands (each prints lines the Rust tests parse):
  read DEV FRAMES SIZE OUT      read() streaming: FRAMES frames of SIZE bytes to OUT
  efault MEDIA                  G_TOPOLOGY and ENUM_LINKS with bad pointers
  hold SUBDEV MEDIA READY GO    open both, write READY, wait for file GO, then
                                report ioctl errno and poll revents of each fd
  block VIDEO READY             REQBUFS, STREAMON without buffers, then a DQBUF
                                that sleeps; writes READY just before it
"""
import errno
import fcntl
import os
import select
import signal
import struct
import sys
import time


def ioc(d, t, nr, size):
    return (d << 30) | (size << 16) | (ord(t) << 8) | nr


IOWR, IOR, IOW = 3, 2, 1
MEDIA_IOC_DEVICE_INFO = ioc(IOWR, "|", 0x00, 256)
MEDIA_IOC_ENUM_LINKS = ioc(IOWR, "|", 0x02, 40)
MEDIA_IOC_G_TOPOLOGY = ioc(IOWR, "|", 0x04, 72)
VIDIOC_REQBUFS = ioc(IOWR, "V", 8, 20)
VIDIOC_STREAMON = ioc(IOW, "V", 18, 4)
VIDIOC_DQBUF = ioc(IOWR, "V", 17, 88)
VIDIOC_SUBDEV_G_FMT = ioc(IOWR, "V", 4, 88)
BAD = 0x10  # never mapped


def err_name(e):
    return errno.errorcode.get(e, str(e))


def try_ioctl(fd, cmd, buf):
    try:
        fcntl.ioctl(fd, cmd, buf, True)
        return "OK"
    except OSError as e:
        return err_name(e.errno)


def cmd_read(dev, frames, size, out):
    fd = os.open(dev, os.O_RDWR)
    with open(out, "wb") as f:
        for _ in range(frames):
            got = b""
            while len(got) < size:
                chunk = os.read(fd, size - len(got))
                if not chunk:
                    raise SystemExit("read returned 0")
                got += chunk
            f.write(got)
    os.close(fd)
    print("read-ok", frames)


def cmd_efault(media):
    fd = os.open(media, os.O_RDWR)
    # G_TOPOLOGY: counts first (NULL pointers), then a bad entity array.
    topo = bytearray(72)
    print("topology-null", try_ioctl(fd, MEDIA_IOC_G_TOPOLOGY, topo))
    (n_ent,) = struct.unpack_from("<I", topo, 8)
    print("entities", n_ent)
    bad = bytearray(72)
    struct.pack_into("<IQ", bad, 8, n_ent, 0)
    struct.pack_into("<Q", bad, 16, BAD)
    print("topology-bad", try_ioctl(fd, MEDIA_IOC_G_TOPOLOGY, bad))
    # The counts were not written back on error.
    print("topology-bad-version", struct.unpack_from("<Q", bad, 0)[0])
    # ENUM_LINKS of entity 1 with a bad pad array, then a bad link array.
    le = bytearray(40)
    struct.pack_into("<IxxxxQQ", le, 0, 1, BAD, 0)
    print("links-bad-pads", try_ioctl(fd, MEDIA_IOC_ENUM_LINKS, le))
    le = bytearray(40)
    struct.pack_into("<IxxxxQQ", le, 0, 1, 0, BAD)
    print("links-bad-links", try_ioctl(fd, MEDIA_IOC_ENUM_LINKS, le))
    # And a good call: real buffers in this process.
    pads = bytearray(16 * 4)
    links = bytearray(32 * 4)
    import ctypes

    pbuf = (ctypes.c_char * len(pads)).from_buffer(pads)
    lbuf = (ctypes.c_char * len(links)).from_buffer(links)
    le = bytearray(40)
    struct.pack_into("<IxxxxQQ", le, 0, 1, ctypes.addressof(pbuf), ctypes.addressof(lbuf))
    print("links-good", try_ioctl(fd, MEDIA_IOC_ENUM_LINKS, le))
    src_ent, = struct.unpack_from("<I", links, 0)
    print("link0-source-entity", src_ent)
    os.close(fd)


def poll_mask(fd):
    p = select.poll()
    p.register(fd, select.POLLIN | select.POLLPRI | select.POLLOUT)
    r = p.poll(0)
    return r[0][1] if r else 0


def cmd_hold(subdev, media, ready, go):
    sfd = os.open(subdev, os.O_RDWR)
    mfd = os.open(media, os.O_RDWR)
    print("before-subdev", try_ioctl(sfd, VIDIOC_SUBDEV_G_FMT, bytearray(88)))
    print("before-media", try_ioctl(mfd, MEDIA_IOC_DEVICE_INFO, bytearray(256)))
    sys.stdout.flush()
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.01)
    print("subdev-ioctl", try_ioctl(sfd, VIDIOC_SUBDEV_G_FMT, bytearray(88)))
    print("subdev-poll", hex(poll_mask(sfd)))
    print("media-ioctl", try_ioctl(mfd, MEDIA_IOC_DEVICE_INFO, bytearray(256)))
    print("media-poll", hex(poll_mask(mfd)))
    for name, path in (("subdev", subdev), ("media", media)):
        try:
            os.close(os.open(path, os.O_RDWR))
            print(name + "-reopen", "OK")
        except OSError as e:
            print(name + "-reopen", err_name(e.errno))
    os.close(sfd)
    os.close(mfd)
    print("closed")


VIDIOC_QUERYBUF = ioc(IOWR, "V", 9, 88)
VIDIOC_QBUF = ioc(IOWR, "V", 15, 88)


def cmd_pollwait(video, frames):
    """MMAP streaming driven by a blocking poll(): each wake-up must come
    from the server's poll notification (nothing is ready when poll starts)."""
    import mmap

    fd = os.open(video, os.O_RDWR)
    rb = bytearray(20)
    struct.pack_into("<III", rb, 0, 2, 1, 1)
    fcntl.ioctl(fd, VIDIOC_REQBUFS, rb, True)
    maps = []
    for i in range(2):
        b = bytearray(88)
        struct.pack_into("<II", b, 0, i, 1)
        struct.pack_into("<I", b, 60, 1)
        fcntl.ioctl(fd, VIDIOC_QUERYBUF, b, True)
        (off,) = struct.unpack_from("<I", b, 64)
        (length,) = struct.unpack_from("<I", b, 72)
        maps.append(mmap.mmap(fd, length, mmap.MAP_SHARED, mmap.PROT_READ, offset=off))
        fcntl.ioctl(fd, VIDIOC_QBUF, b, True)
    fcntl.ioctl(fd, VIDIOC_STREAMON, bytearray(struct.pack("<I", 1)), True)
    p = select.poll()
    p.register(fd, select.POLLIN)
    seqs = []
    for _ in range(frames):
        ev = p.poll(-1)
        b = bytearray(88)
        struct.pack_into("<II", b, 0, 0, 1)
        struct.pack_into("<I", b, 60, 1)
        fcntl.ioctl(fd, VIDIOC_DQBUF, b, True)
        (idx,) = struct.unpack_from("<I", b, 0)
        # The frame counter, read through the mapping.
        seqs.append(struct.unpack_from("<I", maps[idx], 0)[0])
        print("revents", hex(ev[0][1]))
        fcntl.ioctl(fd, VIDIOC_QBUF, b, True)
    print("seqs", " ".join(str(s) for s in seqs))


def cmd_block(video, ready):
    # A shell starts background jobs with SIGINT ignored; take it back so
    # that SIGINT raises KeyboardInterrupt, as in a foreground program.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    fd = os.open(video, os.O_RDWR)
    rb = bytearray(20)
    struct.pack_into("<III", rb, 0, 2, 1, 1)  # count 2, VIDEO_CAPTURE, MMAP
    fcntl.ioctl(fd, VIDIOC_REQBUFS, rb, True)
    fcntl.ioctl(fd, VIDIOC_STREAMON, bytearray(struct.pack("<I", 1)), True)
    buf = bytearray(88)
    struct.pack_into("<II", buf, 0, 0, 1)
    struct.pack_into("<I", buf, 60, 1)
    open(ready, "w").close()
    try:
        fcntl.ioctl(fd, VIDIOC_DQBUF, buf, True)
        print("dqbuf", "OK")
    except OSError as e:
        print("dqbuf", err_name(e.errno))


if __name__ == "__main__":
    c = sys.argv[1]
    if c == "read":
        cmd_read(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    elif c == "efault":
        cmd_efault(sys.argv[2])
    elif c == "hold":
        cmd_hold(*sys.argv[2:6])
    elif c == "pollwait":
        cmd_pollwait(sys.argv[2], int(sys.argv[3]))
    elif c == "block":
        cmd_block(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("unknown subcommand " + c)
