# GStreamer's v4l2src captures 640x480 RGB from /dev/video2 (without caps it picks the largest
# size, which the configured pipeline refuses at STREAMON); vimc is unbound while frames flow.
. fidelity/apps/common.sh
setup_rgb
# build the plugin registry first (slow on a loaded machine), so that only capture is timed
gst-inspect-1.0 v4l2src >/dev/null 2>&1
gst-launch-1.0 v4l2src device=/dev/video2 ! video/x-raw,format=RGB,width=640,height=480 ! fakesink silent=false -v >/tmp/gst.out 2>&1 &
pid=$!
wait_grep /tmp/gst.out 'chain'
state $pid gst-launch-1.0
unbind_vimc
wait_exit $pid
echo "gst-launch-1.0 said (last lines, buffer lines dropped):"
grep -v 'chain\|last-message\|^/GstPipeline' /tmp/gst.out | tail -n 14
nodes
