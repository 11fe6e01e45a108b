# rebind-stream: unbind and bind again (twice), then configure and stream as before.
. fidelity/lib.sh
run v4l2-ctl -d /dev/video0 -v pixelformat=BA81
run v4l2-ctl -d /dev/video0 --stream-mmap --stream-count=5 --stream-to=/tmp/a.raw
unbind_vimc
nodes
bind_vimc
nodes
unbind_vimc
bind_vimc
nodes
run v4l2-ctl --list-devices
# the format set before the unbind is gone: a new binding starts from the defaults
run v4l2-ctl -d /dev/video0 --get-fmt-video
run v4l2-ctl -d /dev/video0 -v pixelformat=BA81
rm -f /tmp/b.raw
run v4l2-ctl -d /dev/video0 --stream-mmap --stream-count=5 --stream-to=/tmp/b.raw
echo "video0: $(wc -c </tmp/b.raw) bytes captured"
run media-ctl -d /dev/media0 -p
