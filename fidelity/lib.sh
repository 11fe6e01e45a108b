# fidelity/lib.sh: sourced by every fidelity script (`. fidelity/lib.sh`), in the Linux guest of
# scripts/linux-vm and inside `devlife exec --driver vimc`. It holds the only commands that differ
# between the two worlds (loading and unloading the module), chosen at run time, and the small
# functions every transcript is written with. Scripts run from the repository's root (the guest's
# `/` looks the same): fidelity/ and target/fidelity/helper are found by relative path.

H=${FIDELITY_HELPER:-target/fidelity/helper}
[ -x "$H" ] || { echo "fidelity: helper $H missing (build fidelity/helper.c)"; exit 2; }
VIMC_DRV=/sys/bus/platform/drivers/vimc

# The world: devlife serves /dev (and /sys/bus) over FUSE; the guest's are devtmpfs and sysfs.
if awk '($2 == "/dev" || $2 == "/sys/bus") && $3 ~ /^fuse/ { f = 1 } END { exit !f }' /proc/mounts 2>/dev/null; then
	WORLD=devlife
else
	WORLD=linux
fi

# Where devlife's module control lives (docs/sysfs.md: kernel/devlife/modules/{load,unload} of
# the tree, a file taking a module name). `devlife exec` lays the tree's bus, dev, class, module
# and devices over /sys but not kernel; then the control is reached through the tree's own mount
# point, found in /proc/mounts.
devlife_modctl() {
	for d in /sys/kernel/devlife/modules $(awk '$3 ~ /^fuse/ { print $2 "/sys/kernel/devlife/modules" }' /proc/mounts); do
		[ -e "$d/$1" ] && { echo "$d/$1"; return; }
	done
	echo /sys/kernel/devlife/modules/$1
}

# run CMD...: print the command, its output (stdout and stderr) and its exit code.
run() {
	echo "\$ $*"
	"$@" 2>&1
	echo "rc=$?"
}

# helper: the held-fd helper reading commands from stdin (see fidelity/helper.c).
helper() { "$H"; }

unbind_vimc() { echo "write $VIMC_DRV/unbind vimc.0" | "$H"; }
bind_vimc() { echo "write $VIMC_DRV/bind vimc.0" | "$H"; }

# rmmod_vimc / modprobe_vimc print `rmmod vimc: ok` or `rmmod vimc: errno=NAME` in both worlds.
rmmod_vimc() {
	if [ $WORLD = linux ]; then
		echo "rmmod vimc" | "$H"
	else
		echo "write $(devlife_modctl unload) vimc" | "$H" | sed 's/^write [^:]*:/rmmod vimc:/'
	fi
}
modprobe_vimc() {
	if [ $WORLD = linux ]; then
		modprobe vimc >/dev/null 2>&1
		r=$?
		[ $r = 0 ] && echo "modprobe vimc: ok" || echo "modprobe vimc: rc=$r"
	else
		echo "write $(devlife_modctl load) vimc" | "$H" | sed 's/^write [^:]*:/modprobe vimc:/'
	fi
}

# nodes: the vimc device nodes present now, one line.
nodes() {
	l=""
	for n in media0 media1 video0 video1 video2 video3 v4l-subdev0 v4l-subdev1 v4l-subdev2 \
		v4l-subdev3 v4l-subdev4 v4l-subdev5 v4l-subdev6 v4l-subdev7; do
		[ -e /dev/$n ] && l="$l $n"
	done
	echo "nodes:${l:- none}"
}

# wait_file_grows FILE: wait (at most 20 s) until FILE is not empty.
wait_file_grows() {
	i=0
	while [ ! -s "$1" ] && [ $i -lt 400 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$1" ] && echo "streaming: yes" || echo "streaming: no"
}

# wait_exit PID: wait (at most 20 s) for PID to exit and print its exit code; a process still
# there is reported with its state (D would be a hang) and killed.
wait_exit() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)" != Z ] && [ $i -lt 400 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$1" 2>/dev/null && [ "$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)" != Z ]; then
		echo "still running after 20 s, state $(cut -d' ' -f3 /proc/$1/stat)"
		kill -9 "$1"
	fi
	wait "$1"
	echo "exit: rc=$?"
}
