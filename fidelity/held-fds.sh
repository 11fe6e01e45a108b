# held-fds: one fd of every node kind (media, video, subdev) held across the unbind; each call's
# errno, poll revents, re-open, close.
. fidelity/lib.sh
helper <<'H'
open m /dev/media0
open v /dev/video0
open s /dev/v4l-subdev0
poll m
poll v
poll s
write /sys/bus/platform/drivers/vimc/unbind vimc.0
ioctl m DEVICE_INFO
ioctl m ENUM_ENTITIES
ioctl m G_TOPOLOGY
poll m
read m 16
ioctl v QUERYCAP
ioctl v G_FMT
ioctl v REQBUFS 1
poll v
read v 16
ioctl s SUBDEV_G_FMT 0
ioctl s QUERYCAP
poll s
read s 16
open m2 /dev/media0
open v2 /dev/video0
open s2 /dev/v4l-subdev0
close m
close v
close s
H
nodes
bind_vimc
nodes
helper <<'H'
open m /dev/media0
ioctl m DEVICE_INFO
close m
H
