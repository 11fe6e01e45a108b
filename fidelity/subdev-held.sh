# subdev-held: subdev ioctls on held fds of a sensor and a debayer, before and after the unbind.
. fidelity/lib.sh
helper <<'H'
open a /dev/v4l-subdev0
open d /dev/v4l-subdev2
ioctl a SUBDEV_QUERYCAP
ioctl a SUBDEV_G_FMT 0
ioctl a SUBDEV_TRY_FMT 0
ioctl a SUBDEV_S_FMT 0
ioctl a SUBDEV_ENUM_MBUS_CODE 0
ioctl a SUBDEV_G_SELECTION 0
ioctl a QUERYCTRL
ioctl d SUBDEV_G_FMT 0
ioctl d SUBDEV_G_FMT 1
ioctl d SUBDEV_ENUM_MBUS_CODE 1
ioctl d SUBDEV_G_FMT 2
poll a
write /sys/bus/platform/drivers/vimc/unbind vimc.0
ioctl a SUBDEV_QUERYCAP
ioctl a SUBDEV_G_FMT 0
ioctl a SUBDEV_TRY_FMT 0
ioctl a SUBDEV_S_FMT 0
ioctl a SUBDEV_ENUM_MBUS_CODE 0
ioctl a SUBDEV_G_SELECTION 0
ioctl a QUERYCTRL
ioctl d SUBDEV_G_FMT 1
poll a
poll d
read a 1
write /sys/bus/platform/drivers/vimc/bind vimc.0
ioctl a SUBDEV_G_FMT 0
close a
close d
open a /dev/v4l-subdev0
ioctl a SUBDEV_G_FMT 0
close a
H
