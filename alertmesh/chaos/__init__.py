"""``alertmesh chaos``: run the embedded mesh, push alerts (good, duplicate and malformed) through it while killing
its parts at moments chosen by a seed, then check from Temporal's visibility and the topics that nothing was lost,
nothing ran twice and nothing is stuck. The summary line and the Markdown report are the product."""
