# fidelity/apps/common.sh: sourced by the application scripts (run inside `devlife exec --driver
# vimc` by scripts/differential): set up RGB/YUV Capture the way the streaming recipe does, and
# wait for an application's output to show that frames flow.
. fidelity/lib.sh
setup_rgb() {
	run media-ctl -d /dev/media0 -V '"Sensor A":0[fmt:SBGGR8_1X8/640x480]'
	run media-ctl -d /dev/media0 -V '"Debayer A":0[fmt:SBGGR8_1X8/640x480]'
	run media-ctl -d /dev/media0 -V '"Sensor B":0[fmt:SBGGR8_1X8/640x480]'
	run media-ctl -d /dev/media0 -V '"Debayer B":0[fmt:SBGGR8_1X8/640x480]'
	# the raw captures share the sensors' enabled links: their formats are validated too
	run v4l2-ctl -d /dev/video0 -v pixelformat=BA81
	run v4l2-ctl -d /dev/video1 -v pixelformat=BA81
	run v4l2-ctl -d /dev/video2 -v width=640,height=480,pixelformat=RGB3
}
# wait_grep FILE REGEX: wait (at most 60 s) until FILE has a line matching REGEX.
wait_grep() {
	i=0
	while ! grep -qE "$2" "$1" 2>/dev/null && [ $i -lt 1200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	grep -qE "$2" "$1" && echo "frames flow: yes" || echo "frames flow: no"
}
# state PID: the process state letter (R, S, D, Z) or "gone".
state() { s=$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null); echo "state of $2: ${s:-gone}"; }
