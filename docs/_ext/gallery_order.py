"""The order of the gallery: from what ReLU is to how it scales out.

sphinx-gallery sorts examples with a key object built from the gallery's
source folder; files not named here come last, alphabetically.
"""

ORDER = (
    "plot_relu_family.py",
    "plot_edge_cases.py",
    "plot_speed.py",
    "plot_allocation.py",
    "plot_train_network.py",
    "plot_gpu.py",
    "plot_dask_scaling.py",
)


class ExampleOrder:
    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        position = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return (position, filename)

    def __repr__(self):
        # sphinx-gallery uses the repr to decide whether the config changed.
        return f"ExampleOrder({ORDER!r})"
