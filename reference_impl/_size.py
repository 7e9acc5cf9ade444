"""torch.Size: the tuple of dims that ``tensor.shape`` returns."""


class Size(tuple):
    """A tuple of ints that prints as ``torch.Size([5, 3])``."""

    def __new__(cls, sizes=()):
        return super().__new__(cls, map(int, sizes))

    def numel(self):
        count = 1
        for size in self:
            count *= size
        return count

    def __repr__(self):
        return f"torch.Size({list(self)})"

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return Size(item) if type(index) is slice else item

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))
