//! V4L2: v4l2 device, video device, subdev, file handles, buffer queue.
