# compliance: v4l2-compliance on the media device (it walks every interface of the graph).
. fidelity/lib.sh
run v4l2-compliance -m /dev/media0
