"""The CUDA device model on the emulated backend: where tensors live, how they move and
print, and torch's errors for mixing devices. The kernels themselves are checked in the
other test_cuda_* files."""


import numpy as np
import pytest

import reference_impl as rt
from reference_impl.cuda import runtime

from .cuda_backend import BACKEND, cuda_backend, requires_backend  # noqa: F401 (an autouse fixture)

pytestmark = requires_backend


def test_a_cuda_backend_reports_one_device():
    assert rt.cuda.is_available() and rt.cuda.device_count() == 1


def test_without_a_backend_cuda_is_refused_as_a_cpu_only_torch_refuses_it():
    runtime.use(None)
    try:
        assert not rt.cuda.is_available()
        with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
            rt.zeros(2, device="cuda")
    finally:
        runtime.use(BACKEND)


@pytest.mark.parametrize("make", [
    lambda: rt.zeros(2, 3, device="cuda"),
    lambda: rt.ones(4, device="cuda:0", dtype=rt.int32),
    lambda: rt.full((2,), 7.0, device=rt.device("cuda")),
    lambda: rt.arange(5, device="cuda"),
    lambda: rt.linspace(0, 1, 5, device="cuda"),
    lambda: rt.eye(3, device="cuda"),
    lambda: rt.tensor([[1, 2], [3, 4]], device="cuda"),
    lambda: rt.rand(3, device="cuda"),
    lambda: rt.zeros_like(rt.zeros(2, device="cuda")),
    lambda: rt.tensor([1.0], device="cuda").new_ones(2),
])
def test_factories_put_tensors_on_the_device_they_are_given(make):
    tensor = make()
    assert tensor.is_cuda and tensor.device == rt.device("cuda", 0) and str(tensor.device) == "cuda:0"


def test_values_survive_the_round_trip_and_the_copies_are_new_memory():
    x = rt.tensor([[1.5, -2.0], [3.25, 4.0]])
    on_gpu = x.to("cuda")
    back = on_gpu.cpu()
    assert on_gpu.tolist() == back.tolist() == x.tolist()
    assert back is not x and back.data_ptr() != x.data_ptr()
    assert on_gpu.cuda() is on_gpu and on_gpu.to("cuda:0") is on_gpu and x.cpu() is x


def test_a_transposed_tensor_keeps_its_strides_on_the_device():
    x = rt.arange(6.0).view(2, 3).t()
    moved = x.to("cuda")
    assert moved.stride() == x.stride() and moved.tolist() == x.tolist()


def test_to_changes_dtype_and_device_in_one_step():
    x = rt.tensor([1.7, 2.2, 255.9])  # in range: C leaves out-of-range float-to-uint8 undefined, GPUs differ
    moved = x.to("cuda", rt.uint8)
    assert moved.dtype is rt.uint8 and moved.is_cuda
    assert moved.tolist() == x.to(rt.uint8).tolist()


def test_views_of_a_cuda_tensor_share_its_memory():
    x = rt.zeros(3, 4, device="cuda")
    column = x[:, 1]
    column.fill_(5.0)
    row = x.view(12)[4:8]
    row += 1
    assert x.tolist() == [[0, 5, 0, 0], [1, 6, 1, 1], [0, 5, 0, 0]]
    assert column._base is x and x._version == 2


def test_printing_names_the_device_before_the_dtype():
    assert repr(rt.arange(3, device="cuda", dtype=rt.int32)) == \
        "tensor([0, 1, 2], device='cuda:0', dtype=torch.int32)"
    assert repr(rt.zeros(0, device="cuda")) == "tensor([], device='cuda:0')"
    leaf = rt.ones(2, device="cuda", requires_grad=True)
    assert repr(leaf * 2) == "tensor([2., 2.], device='cuda:0', grad_fn=<MulBackward0>)"


def test_the_default_device_steers_factories_but_not_from_numpy():
    rt.set_default_device("cuda")
    try:
        assert rt.zeros(2).is_cuda and rt.tensor([1, 2]).is_cuda and rt.arange(3).is_cuda
        assert not rt.from_numpy(np.zeros(2)).is_cuda
        assert rt.get_default_device() == rt.device("cuda", 0)
    finally:
        rt.set_default_device(None)
    assert not rt.zeros(2).is_cuda and rt.get_default_device() == rt.device("cpu")


def test_mixing_devices_in_an_elementwise_op_names_both_devices():
    on_cpu, on_gpu = rt.ones(3), rt.ones(3, device="cuda")
    message = "Expected all tensors to be on the same device, but found at least two devices, cuda:0 and cpu!"
    for operation in (lambda: on_cpu + on_gpu, lambda: on_gpu * on_cpu, lambda: rt.where(on_gpu > 0, on_gpu, on_cpu)):
        with pytest.raises(RuntimeError, match=message):
            operation()


# torch 2.11's texts on an H200 (tools/probe_cuda_errors.py): ops that check arguments one by one
# name the first argument on another device than the first tensor, and their CUDA wrapper.
@pytest.mark.parametrize("operation, text", [
    (lambda g, c: g.view(1, 3) @ c.view(3, 1),
     "got mat2 is on cpu, different from other tensors on cuda:0 (when checking argument in method wrapper_CUDA_mm)"),
    (lambda g, c: c.view(1, 3) @ g.view(3, 1),
     "got mat2 is on cuda:0, different from other tensors on cpu (when checking argument in method wrapper_CUDA_mm)"),
    (lambda g, c: rt.bmm(g.view(1, 1, 3), c.view(1, 3, 1)), "got mat2 is on cpu, different from other tensors on"
     " cuda:0 (when checking argument in method wrapper_CUDA_bmm)"),
    (lambda g, c: rt.mv(g.view(1, 3), c), "got mat is on cuda:0, different from other tensors on cpu (when checking"
     " argument in method wrapper_CUDA_addmv_)"),
    (lambda g, c: rt.dot(g, c), "got tensor is on cpu, different from other tensors on cuda:0 (when checking"
     " argument in method wrapper_CUDA__dot)"),
    (lambda g, c: rt.cat([g, c]), "got tensors is on cpu, different from other tensors on cuda:0 (when checking"
     " argument in method wrapper_CUDA_cat)"),
    (lambda g, c: rt.stack([c, g]), "got tensors is on cuda:0, different from other tensors on cpu (when checking"
     " argument in method wrapper_CUDA_cat)"),
    (lambda g, c: g.index_select(0, rt.tensor([0, 1])), "got index is on cpu, different from other tensors on"
     " cuda:0 (when checking argument in method wrapper_CUDA__index_select)"),
    (lambda g, c: rt.gather(g, 0, rt.tensor([0, 1])), "got index is on cpu, different from other tensors on"
     " cuda:0 (when checking argument in method wrapper_CUDA_gather)"),
])
def test_ops_that_check_arguments_one_by_one_name_the_odd_one(operation, text):
    with pytest.raises(RuntimeError) as raised:
        operation(rt.ones(3, device="cuda"), rt.ones(3))
    assert str(raised.value) == "Expected all tensors to be on the same device, but " + text


def test_a_device_index_we_do_not_have_is_torchs_accelerator_error():
    with pytest.raises(rt.AcceleratorError, match="CUDA error: invalid device ordinal\nGPU device may be out"):
        rt.zeros(2, device="cuda:7")


def test_indexing_a_cuda_tensor_with_a_cpu_index_is_allowed():
    x = rt.arange(4.0, device="cuda")
    assert x[rt.tensor([0, 2])].tolist() == [0.0, 2.0]


def test_a_zero_dim_cpu_tensor_joins_a_cuda_op_as_a_scalar():
    result = rt.ones(3, device="cuda") * rt.tensor(2.5)
    assert result.is_cuda and result.tolist() == [2.5, 2.5, 2.5]


def test_numpy_of_a_cuda_tensor_points_at_cpu_first():
    with pytest.raises(TypeError, match=r"can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu\(\)"):
        rt.ones(2, device="cuda").numpy()


def test_copy_into_a_cuda_tensor_from_the_cpu_and_back():
    target = rt.zeros(2, 2, device="cuda")
    target.copy_(rt.tensor([[1, 2], [3, 4]]))
    host = rt.zeros(2, 2, dtype=rt.float64)
    host.copy_(target.t())
    assert target.tolist() == [[1, 2], [3, 4]] and host.tolist() == [[1, 3], [2, 4]]


def test_gradients_flow_back_across_a_device_move():
    x = rt.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.to("cuda")
    (y * y).sum().backward()
    assert not x.grad.is_cuda and x.grad.tolist() == [2.0, 4.0, 6.0]
    assert type(y.grad_fn).__name__ == "ToCopyBackward0"


def test_gradients_of_cuda_leaves_live_on_the_device():
    w = rt.tensor([[1.0, -1.0], [0.5, 2.0]], device="cuda", requires_grad=True)
    loss = ((w.exp() + 2) * (w + 2) * 3).mean()
    loss.backward()
    cpu_w = w.detach().cpu().requires_grad_()
    ((cpu_w.exp() + 2) * (cpu_w + 2) * 3).mean().backward()
    assert w.grad.is_cuda
    np.testing.assert_allclose(w.grad.tolist(), cpu_w.grad.tolist(), rtol=1e-6)


def test_implicit_host_copies_of_device_arrays_are_refused():
    array = rt.ones(2, device="cuda")._array()
    with pytest.raises(TypeError, match="Implicit conversion of a CUDA array to numpy is not allowed"):
        np.asarray(array)
    assert array.get().tolist() == [1.0, 1.0]


def test_a_numpy_function_without_a_kernel_runs_on_the_host_and_is_counted(monkeypatch):
    from reference_impl.cuda import device_array

    monkeypatch.delenv("REFERENCE_IMPL_CUDA_STRICT", raising=False)
    array = rt.arange(6.0, device="cuda")._array()
    before = device_array.host_fallbacks["gradient"]
    result = np.gradient(array)  # no kernel of ours: numpy computes it on a host copy
    assert isinstance(result, device_array.DeviceArray)
    np.testing.assert_array_equal(result.get(), np.gradient(np.arange(6.0)))
    assert device_array.host_fallbacks["gradient"] == before + 1
    monkeypatch.setenv("REFERENCE_IMPL_CUDA_STRICT", "1")
    with pytest.raises(NotImplementedError, match="no CUDA kernel for numpy's gradient"):
        np.gradient(array)


def test_a_function_that_writes_its_argument_never_runs_on_a_host_copy(monkeypatch):
    monkeypatch.delenv("REFERENCE_IMPL_CUDA_STRICT", raising=False)
    array = rt.zeros(4, device="cuda")._array()
    with pytest.raises(NotImplementedError, match="writes in place"):
        np.place(array, np.ones(4, bool), [1.0])
