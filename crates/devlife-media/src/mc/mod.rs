//! Media Controller: media device, devnode, graph, allocator.
