# stream: the streaming recipe of the kernel's vimc documentation
# (Documentation/admin-guide/media/vimc.rst), with nodes named by path instead of `-z
# platform:vimc -d NAME` (that lookup needs udev's /dev/char links, which neither world has).
. fidelity/lib.sh
run media-ctl -d /dev/media0 -V '"Sensor A":0[fmt:SBGGR8_1X8/640x480]'
run media-ctl -d /dev/media0 -V '"Debayer A":0[fmt:SBGGR8_1X8/640x480]'
run media-ctl -d /dev/media0 -V '"Sensor B":0[fmt:SBGGR8_1X8/640x480]'
run media-ctl -d /dev/media0 -V '"Debayer B":0[fmt:SBGGR8_1X8/640x480]'
# The documentation's 1920x1440 dates from the old x3 scaler: STREAMON fails with EPIPE.
run v4l2-ctl -d /dev/video2 -v width=1920,height=1440
run v4l2-ctl -d /dev/video2 --stream-mmap --stream-count=3 --stream-to=/tmp/rgb-big.raw
run v4l2-ctl -d /dev/video2 -v width=640,height=480
run v4l2-ctl -d /dev/video0 -v pixelformat=BA81
run v4l2-ctl -d /dev/video1 -v pixelformat=BA81
for n in 0 1 2; do
	run v4l2-ctl -d /dev/video$n --get-fmt-video
	rm -f /tmp/cap$n.raw
	run v4l2-ctl -d /dev/video$n --stream-mmap --stream-count=10 --stream-to=/tmp/cap$n.raw
	echo "video$n: $(wc -c </tmp/cap$n.raw) bytes captured"
done
run media-ctl -d /dev/media0 -p
# read() streaming: the capture queue of 6.1's vimc offers MMAP and DMABUF only.
helper <<'H'
open v /dev/video0
ioctl v QUERYCAP
read v 307200
ioctl v STREAMOFF
close v
H
