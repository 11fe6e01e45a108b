# ffmpeg captures from /dev/video2 with its v4l2 input; vimc is unbound while frames flow.
. fidelity/apps/common.sh
setup_rgb
ffmpeg -hide_banner -nostdin -f v4l2 -video_size 640x480 -input_format rgb24 -i /dev/video2 -f null -progress /tmp/ff.progress - >/tmp/ff.out 2>&1 &
pid=$!
wait_grep /tmp/ff.progress '^frame=[1-9]'
state $pid ffmpeg
unbind_vimc
wait_exit $pid
echo "ffmpeg said (last lines):"
tail -n 6 /tmp/ff.out
nodes
