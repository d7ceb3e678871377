"""``alertmesh bench``: the mesh's throughput, latency, dispatch cost, fan-out and footprint, each measured in one
run beside the raw ceiling it stands on (bare aiokafka, bare Temporal, bare Ray), so the ratios hold on a noisy
machine."""
