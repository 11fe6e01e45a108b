# close-order: media, video and subdev fds held across an unbind, closed in each of the six
# orders; then the device binds again and answers.
. fidelity/lib.sh
for order in "m v s" "m s v" "v m s" "v s m" "s m v" "s v m"; do
	echo "order: $order"
	{
		echo "open m /dev/media0"
		echo "open v /dev/video0"
		echo "open s /dev/v4l-subdev0"
		echo "write $VIMC_DRV/unbind vimc.0"
		for f in $order; do echo "close $f"; done
		echo "write $VIMC_DRV/bind vimc.0"
		echo "open m /dev/media0"
		echo "ioctl m DEVICE_INFO"
		echo "close m"
	} | "$H"
	nodes
done
