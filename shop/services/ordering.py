"""Moving one row of an ordered list (categories among siblings, shipping methods) up or down."""
from typing import Protocol


class Positioned(Protocol):
    position: int


def move_one_place(rows: list, moved: Positioned, direction: str) -> bool:
    """Swap `moved` with its neighbour ("up" is earlier) and number the list 0, 1, 2...; False at that end.

    Renumbering from 0 makes positions that were equal (or had gaps) distinct again.
    """
    index = rows.index(moved)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(rows):
        return False
    rows[index], rows[target] = rows[target], rows[index]
    for position, row in enumerate(rows):
        row.position = position
    return True
