# topology: what v4l-utils print about vimc's graph and every node, before anything changes.
. fidelity/lib.sh
nodes
run media-ctl -d /dev/media0 -p
run media-ctl -d /dev/media0 --print-dot
run v4l2-ctl --list-devices
for n in video0 video1 video2; do
	run v4l2-ctl -d /dev/$n --all
done
for n in 0 1 2 3 4 5 6 7; do
	run v4l2-ctl -d /dev/v4l-subdev$n --all
done
for n in v4l-subdev0 v4l-subdev1 v4l-subdev2 v4l-subdev3 v4l-subdev4 v4l-subdev5 v4l-subdev6 v4l-subdev7 video0 video1 video2; do
	echo "$n: $(cat /sys/class/video4linux/$n/name)"
done
