"""Scale-out of the engine tier: our llama.cpp engine as Ray Serve replicas on a Ray cluster.

`config` maps settings and cluster options to a Ray Serve deployment (pure, no Ray),
`replica` is the class each replica runs, `ray_serve` deploys it (Ray imported lazily).
"""
