# unbind-stream: unbind vimc while userspace streams: v4l2-ctl blocked in DQBUF, the helper's
# own in-flight DQBUF with a mapped buffer, and a read().
. fidelity/lib.sh
run media-ctl -d /dev/media0 -V '"Sensor A":0[fmt:SBGGR8_1X8/640x480]'
run v4l2-ctl -d /dev/video0 -v pixelformat=BA81
rm -f /tmp/s.raw
v4l2-ctl -d /dev/video0 --stream-mmap --stream-count=100000 --stream-to=/tmp/s.raw >/tmp/s.out 2>&1 &
pid=$!
wait_file_grows /tmp/s.raw
unbind_vimc
wait_exit $pid
echo "v4l2-ctl said:"
cat /tmp/s.out
nodes
bind_vimc
nodes
run media-ctl -d /dev/media0 -V '"Sensor A":0[fmt:SBGGR8_1X8/640x480]'
run v4l2-ctl -d /dev/video0 -v pixelformat=BA81
# vimc needs two queued buffers before it starts; once both are dequeued the third DQBUF sleeps.
helper <<'H'
open v /dev/video0
ioctl v REQBUFS 2
mmap v 0
mmap v 1
ioctl v QBUF 0
ioctl v QBUF 1
ioctl v STREAMON
ioctl v DQBUF
ioctl v DQBUF
touch v 0
bg v ioctl DQBUF
waitblocked
write /sys/bus/platform/drivers/vimc/unbind vimc.0
join
touch v 0
poll v
ioctl v QUERYCAP
ioctl v QBUF 0
ioctl v STREAMOFF
ioctl v REQBUFS 0
open v2 /dev/video0
munmap v 0
munmap v 1
close v
H
nodes
bind_vimc
# The same formats again (a new binding starts from the defaults), so that the read() below
# really sleeps in flight on a streaming pipeline instead of failing at its STREAMON.
run media-ctl -d /dev/media0 -V '"Sensor A":0[fmt:SBGGR8_1X8/640x480]'
run v4l2-ctl -d /dev/video0 -v pixelformat=BA81
helper <<'H'
open v /dev/video0
bg v read 307200
waitblocked
write /sys/bus/platform/drivers/vimc/unbind vimc.0
join
read v 307200
poll v
close v
H
nodes
