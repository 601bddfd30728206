"""``python -m relukit info`` and ``python -m relukit bench``."""

from __future__ import annotations

import argparse
import sys

from . import _registry


def _size(text: str) -> int:
    value = float(text)
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"size must be a positive whole number, got {text}")
    return int(value)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m relukit",
        description="relukit: fast ReLU, its gradient and the fused backward pass.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="show versions, backends, threading and GPU (as show_config)")
    bench = commands.add_parser(
        "bench",
        help="time relu, relu_grad and relu_backward against NumPy, the seed code and PyTorch",
        description=(
            "Time relu, relu_grad and relu_backward for every available backend against "
            "np.maximum, the seed's Numba code and PyTorch (when installed), in one process. "
            "Prints median times, GB/s and speed-ups, then the speed targets."
        ),
    )
    bench.add_argument("--quick", action="store_true", help="sizes 1e3..1e7 and fewer samples (default goes to 1e8)")
    bench.add_argument("--sizes", type=_size, nargs="+", metavar="N", help="sizes in elements, e.g. 1e3 1e6")
    bench.add_argument(
        "--dtype", nargs="+", default=["float32"], choices=_registry.FLOAT_DTYPES, help="dtypes (default float32)"
    )
    bench.add_argument("--backends", nargs="+", default=["numba", "numpy"], help="relukit backends to time")
    bench.add_argument("--repeat", type=int, help="samples per figure (default 5, 3 with --quick)")
    bench.add_argument("--plot", metavar="FILE", help="write a figure of time against size (needs matplotlib)")
    bench.add_argument("--json", metavar="FILE", help="write every measurement as JSON")
    return parser


def _bench(args) -> int:
    from . import _bench

    sizes = args.sizes or (_registry.BENCH_SIZES if args.quick else _registry.BENCH_SIZES_FULL)
    repeat = args.repeat or (3 if args.quick else 5)
    machine = _bench.machine_description()
    print(f"relukit bench on {machine['cpu']} ({machine['cores']} cores, numba threads: {machine['numba_threads']})")
    print(f"sizes {', '.join(f'{s:.0e}' for s in sizes)}; dtypes {', '.join(args.dtype)}; median of {repeat}")

    def progress(message):
        print(message, file=sys.stderr, flush=True)

    rows = _bench.run(sizes, args.dtype, args.backends, repeat, progress)
    rows += _gpu_rows(sizes, args.dtype, repeat, progress)
    targets = _bench.check_targets(rows)
    print(_bench.format_table(rows))
    print(_bench.format_targets(targets))
    if args.json:
        _bench.to_json(rows, targets, args.json)
        print(f"\nwrote {args.json}")
    if args.plot:
        _bench.plot(rows, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _gpu_rows(sizes, dtypes, repeat, progress):
    """GPU rows from the CuPy benchmark, when CuPy and a device are usable."""
    from ._config import _gpu_info

    if not _gpu_info()["available"]:
        progress("no usable GPU: GPU rows skipped")
        return []
    from . import _bench_gpu
    from ._bench import Row

    progress("timing the GPU")
    # A function name of its own, so GPU rows form their own groups in the
    # table and their speed-ups are taken against relukit on the GPU.
    return [
        Row(**{**{name: row[name] for name in Row._fields}, "function": f"{row['function']} [gpu]"})
        for row in _bench_gpu.gpu_rows(sizes, dtypes, repeat)
    ]


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "info":
        from ._config import show_config

        show_config()
        return 0
    return _bench(args)


if __name__ == "__main__":
    sys.exit(main())
