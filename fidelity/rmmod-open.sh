# rmmod-open: unloading vimc is refused while a file is open, allowed after the last close, and
# loading it again brings every node back.
. fidelity/lib.sh
echo "refcnt: $(cat /sys/module/vimc/refcnt)"
helper <<'H'
open v /dev/video0
sh echo "refcnt: $(cat /sys/module/vimc/refcnt)"
sh . fidelity/lib.sh && rmmod_vimc
close v
open s /dev/v4l-subdev0
sh . fidelity/lib.sh && rmmod_vimc
close s
open m /dev/media0
sh . fidelity/lib.sh && rmmod_vimc
write /sys/bus/platform/drivers/vimc/unbind vimc.0
sh . fidelity/lib.sh && rmmod_vimc
ioctl m DEVICE_INFO
close m
H
echo "refcnt: $(cat /sys/module/vimc/refcnt)"
rmmod_vimc
nodes
[ -e /sys/module/vimc ] && echo "/sys/module/vimc: present" || echo "/sys/module/vimc: absent"
[ -e $VIMC_DRV ] && echo "$VIMC_DRV: present" || echo "$VIMC_DRV: absent"
rmmod_vimc
modprobe_vimc
nodes
run media-ctl -d /dev/media0 -p
