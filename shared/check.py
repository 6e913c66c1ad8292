"""`python -m shared.check` was the configuration doctor's old name: one line pointing at the new one.

"Check" now names Check Session only; old handouts still say `python -m shared.check`.
"""

import sys

if __name__ == "__main__":
    print("python -m shared.check: error: it is now `uv run python -m shared.doctor`", file=sys.stderr)
    sys.exit(2)
