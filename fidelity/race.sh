# race: 100 unbind/bind cycles while three helpers open a node, issue one ioctl and close, in a
# loop. What is compared is the set of results each call saw; the counts (race-counts lines)
# depend on timing and are declared nondeterministic (scripts/differential drops them).
. fidelity/lib.sh
rm -f /tmp/race.stop
echo "race /dev/video0 QUERYCAP /tmp/race.stop" | "$H" >/tmp/race.v &
pv=$!
echo "race /dev/media0 DEVICE_INFO /tmp/race.stop" | "$H" >/tmp/race.m &
pm=$!
echo "race /dev/v4l-subdev0 SUBDEV_G_FMT /tmp/race.stop" | "$H" >/tmp/race.s &
ps=$!
i=0
: >/tmp/race.cmds
while [ $i -lt 100 ]; do
	echo "write $VIMC_DRV/unbind vimc.0" >>/tmp/race.cmds
	echo "write $VIMC_DRV/bind vimc.0" >>/tmp/race.cmds
	i=$((i + 1))
done
"$H" </tmp/race.cmds | sort | uniq -c | sed 's/^ *[0-9]* /unbind-bind: /'
touch /tmp/race.stop
wait_exit $pv
wait_exit $pm
wait_exit $ps
cat /tmp/race.v /tmp/race.m /tmp/race.s
nodes
run media-ctl -d /dev/media0 --print-dot
