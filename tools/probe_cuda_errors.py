"""Print what torch on a GPU says when an operation mixes devices (run on a GPU machine).

The texts differ per op (TensorIterator vs. the argument checks of matmul, cat, index ops),
so reference_impl/_errors.py takes them from here rather than from memory:

    python tools/probe_cuda_errors.py > cuda_errors.txt
"""

import torch

gpu = torch.ones(3, device="cuda")
cpu = torch.ones(3)
matrix_gpu, matrix_cpu = torch.ones(2, 2, device="cuda"), torch.ones(2, 2)
PROBES = {
    "add": lambda: cpu + gpu,
    "add_reversed": lambda: gpu + cpu,
    "mul": lambda: gpu * cpu,
    "where": lambda: torch.where(gpu > 0, gpu, cpu),
    "matmul": lambda: matrix_gpu @ matrix_cpu,
    "matmul_reversed": lambda: matrix_cpu @ matrix_gpu,
    "mm": lambda: torch.mm(matrix_gpu, matrix_cpu),
    "bmm": lambda: torch.bmm(matrix_gpu[None], matrix_cpu[None]),
    "mv": lambda: torch.mv(matrix_gpu, cpu[:2]),
    "dot": lambda: torch.dot(gpu, cpu),
    "cat": lambda: torch.cat([gpu, cpu]),
    "cat_reversed": lambda: torch.cat([cpu, gpu]),
    "stack": lambda: torch.stack([gpu, cpu]),
    "index_select": lambda: gpu.index_select(0, torch.tensor([0, 1])),
    "getitem_cpu_index": lambda: gpu[torch.tensor([0, 1])],
    "gather": lambda: torch.gather(gpu, 0, torch.tensor([0, 1])),
    "masked_fill_cpu_mask": lambda: gpu.masked_fill(cpu > 0, 0.0),
    "setitem_cpu_value": lambda: gpu.__setitem__(0, torch.tensor(5.0)),
    "copy_": lambda: gpu.clone().copy_(cpu),
    "zero_dim_cpu": lambda: gpu + torch.tensor(2.0),
    "numpy": lambda: gpu.numpy(),
    "bad_ordinal": lambda: torch.zeros(2, device="cuda:7"),
    "repr": lambda: repr(torch.arange(3, device="cuda", dtype=torch.int32)),
    "repr_default_cuda": lambda: _with_default_cuda(lambda: repr(torch.arange(3.0))),
    "repr_cpu_under_default_cuda": lambda: _with_default_cuda(lambda: repr(torch.arange(3.0, device="cpu"))),
}


def _with_default_cuda(function):
    torch.set_default_device("cuda")
    try:
        return function()
    finally:
        torch.set_default_device(None)


for name, probe in PROBES.items():
    try:
        print(f"{name}: ok {probe()!r}")
    except Exception as error:  # noqa: BLE001 - every failure is the data here
        print(f"{name}: {type(error).__name__}: {error}")
