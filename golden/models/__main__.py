"""``python -m golden.models --list``: one model name per line.
``python -m golden.models --train digits_cnn``: (re)train the cached CNN and print its accuracy."""

from __future__ import annotations

import argparse
import sys

from . import get_network, network_names


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m golden.models", description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="print the model names, one per line")
    ap.add_argument("--train", metavar="MODEL", help="retrain digits_cnn into its cache")
    args = ap.parse_args(argv)
    if args.list or not args.train:
        for name in network_names():
            print(name)
    if args.train:
        if args.train != "digits_cnn":
            print(f"error: only digits_cnn is trained here, not {args.train!r}", file=sys.stderr)
            return 2
        net = get_network("digits_cnn")
        net.load(retrain=True)
        print(f"accuracy {net.evaluate(net.load())['accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
