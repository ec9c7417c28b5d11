"""Making lifters: training on augmented motion capture (train), the files the runtimes load (export), the
training metrics, and the lifters' latency at other receptive fields (benchmark). The nodes never import it.
"""
