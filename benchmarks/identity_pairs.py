"""Write an LFW-format pair list for identity_accuracy.py over a folder of <name>/<n>.jpg.

Run: .venv/bin/python benchmarks/identity_pairs.py DIR DIFFERENT OUT.txt
Every same-person pair (``name n1 n2``), then a seeded sample of DIFFERENT different-person
pairs (``name1 n1 name2 n2``), so the shared sets without a pair list (identities/,
lfw_subset/) can be measured as DevTest is: e.g. 600 for either set.
"""

from __future__ import annotations

import itertools
import random
import sys
from pathlib import Path


def main() -> None:
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    root, count, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    images = [(p.parent.name, int(p.stem)) for p in sorted(root.glob("*/*.jpg")) if p.stem.isdigit()]
    same = [f"{a[0]}\t{a[1]}\t{b[1]}" for a, b in itertools.combinations(images, 2) if a[0] == b[0]]
    different = [(a, b) for a, b in itertools.combinations(images, 2) if a[0] != b[0]]
    random.Random(13).shuffle(different)
    lines = same + [f"{a[0]}\t{a[1]}\t{b[0]}\t{b[1]}" for a, b in sorted(different[:count])]
    out.write_text("\n".join(lines) + "\n")
    print(f"{out}: {len(same)} same-person and {min(count, len(different))} different-person pairs")


if __name__ == "__main__":
    main()
