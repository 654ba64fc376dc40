"""The device-array protocols of NVDEC frames (docs/nvdec.md, "From Python"), checked on any
machine: ``hooks.host_nv12_surface`` makes an Nv12Surface over host memory, and a ctypes
consumer written from dlpack.h reads the DLPack capsule as torch or cupy would. Nothing here
dereferences the pointers as device memory; the GPU suite (test_nvdec_gpu.py) does that."""

from __future__ import annotations

import ctypes
import gc

import pytest

from hooks import host_nv12_surface, host_surfaces_alive

# ---- a DLPack consumer (dlpack.h ABI v0.8), independent of the C++ definitions ----------


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLManagedTensor(ctypes.Structure):
    pass


DELETER = ctypes.CFUNCTYPE(None, ctypes.POINTER(DLManagedTensor))
DLManagedTensor._fields_ = [
    ("dl_tensor", DLTensor),
    ("manager_ctx", ctypes.c_void_p),
    ("deleter", DELETER),
]

_api = ctypes.pythonapi
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_SetName.restype = ctypes.c_int
_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]
_USED = b"used_dltensor"  # the capsule keeps this pointer: it must outlive every capsule


def consume(capsule) -> ctypes.POINTER(DLManagedTensor):
    """What a consumer does: take the tensor and mark the capsule used."""
    assert _api.PyCapsule_IsValid(capsule, b"dltensor") == 1
    managed = ctypes.cast(
        _api.PyCapsule_GetPointer(capsule, b"dltensor"), ctypes.POINTER(DLManagedTensor)
    )
    assert _api.PyCapsule_SetName(capsule, _USED) == 0
    return managed


def read_byte(address: int) -> int:
    return ctypes.string_at(address, 1)[0]


def element_address(array, index: tuple[int, ...]) -> int:
    return array.ptr + sum(i * s for i, s in zip(index, array.strides))


@pytest.fixture(autouse=True)
def no_surface_leaks():
    gc.collect()
    before = host_surfaces_alive()
    yield
    gc.collect()
    assert host_surfaces_alive() == before, "a test surface was never released"


# ---- layout --------------------------------------------------------------------------------


@pytest.mark.parametrize("width,height", [(64, 48), (7, 5), (1920, 1080)])
def test_surface_is_the_whole_nv12_buffer_with_the_pitch_as_row_stride(width, height):
    s = host_nv12_surface(width, height)
    pitch = width + (width % 2)
    assert (s.width, s.height, s.pitch) == (width, height, pitch)
    assert s.shape == (height + (height + 1) // 2, pitch)
    assert s.strides == (pitch, 1)
    assert s.dtype == "uint8"
    assert s.span_bytes == pitch * (height + (height + 1) // 2)


@pytest.mark.parametrize("width,height", [(64, 48), (7, 5)])
def test_plane_views_address_the_same_bytes_as_the_surface(width, height):
    s = host_nv12_surface(width, height)
    y, uv = s.y, s.uv
    assert y.ptr == s.ptr and y.shape == (height, width) and y.strides == (s.pitch, 1)
    assert uv.ptr == s.ptr + s.pitch * height
    assert uv.shape == ((height + 1) // 2, (width + 1) // 2, 2)
    assert uv.strides == (s.pitch, 2, 1)
    for r in range(uv.shape[0]):
        for c in range(uv.shape[1]):
            for k in (0, 1):
                assert read_byte(element_address(uv, (r, c, k))) == read_byte(
                    element_address(s, (height + r, 2 * c + k))
                )
    assert read_byte(element_address(y, (height - 1, width - 1))) == read_byte(
        element_address(s, (height - 1, width - 1))
    )


# ---- __cuda_array_interface__ --------------------------------------------------------------


def test_cuda_array_interface_is_version_3_with_pitch_strides_and_no_stream():
    s = host_nv12_surface(64, 48)
    cai = s.__cuda_array_interface__
    assert cai == {
        "version": 3,
        "shape": (72, 64),
        "typestr": "|u1",
        "strides": (64, 1),
        "data": (s.ptr, False),
        "stream": None,
    }
    assert s.uv.__cuda_array_interface__["data"] == (s.ptr + 64 * 48, False)


# ---- DLPack -------------------------------------------------------------------------------


def test_dlpack_device_is_cuda_and_the_frames_device():
    assert host_nv12_surface(16, 16, device_id=3).__dlpack_device__() == (2, 3)


def test_dlpack_capsule_describes_the_array_in_elements():
    s = host_nv12_surface(10, 6, device_id=1)
    for array in (s, s.y, s.uv):
        managed = consume(array.__dlpack__())
        t = managed.contents.dl_tensor
        assert t.data == array.ptr and t.byte_offset == 0
        assert (t.device.device_type, t.device.device_id) == (2, 1)
        assert (t.dtype.code, t.dtype.bits, t.dtype.lanes) == (1, 8, 1)  # kDLUInt, 8, 1
        assert tuple(t.shape[i] for i in range(t.ndim)) == array.shape
        assert tuple(t.strides[i] for i in range(t.ndim)) == array.strides  # uint8: bytes
        managed.contents.deleter(managed)


def test_consumed_tensor_keeps_the_memory_until_its_deleter_runs():
    before = host_surfaces_alive()
    s = host_nv12_surface(32, 16)
    capsule = s.__dlpack__()
    managed = consume(capsule)
    del s, capsule
    gc.collect()
    assert host_surfaces_alive() == before + 1, "released while a tensor holds it"
    managed.contents.deleter(managed)
    assert host_surfaces_alive() == before


def test_unconsumed_capsule_releases_the_memory_when_dropped():
    before = host_surfaces_alive()
    capsule = host_nv12_surface(32, 16).__dlpack__()
    assert host_surfaces_alive() == before + 1
    del capsule
    assert host_surfaces_alive() == before


def test_views_keep_the_surface_alive():
    before = host_surfaces_alive()
    s = host_nv12_surface(32, 16)
    uv = s.uv
    del s
    assert host_surfaces_alive() == before + 1
    del uv
    assert host_surfaces_alive() == before


def test_dlpack_takes_the_array_api_keywords():
    s = host_nv12_surface(16, 16, device_id=0)
    for kwargs in (
        {},
        {"stream": None},
        {"stream": 1},
        {"stream": -1},
        {"max_version": (1, 0)},
        {"dl_device": (2, 0)},
        {"copy": False},
    ):
        capsule = s.__dlpack__(**kwargs)
        assert _api.PyCapsule_IsValid(capsule, b"dltensor") == 1, kwargs


def test_dlpack_refuses_a_copy_or_another_device():
    s = host_nv12_surface(16, 16, device_id=0)
    with pytest.raises(BufferError, match="copy=True"):
        s.__dlpack__(copy=True)
    with pytest.raises(BufferError, match=r"\(1, 0\)"):
        s.__dlpack__(dl_device=(1, 0))
    with pytest.raises(BufferError, match=r"\(2, 1\)"):
        s.__dlpack__(dl_device=(2, 1))
    with pytest.raises(TypeError, match="stream"):
        s.__dlpack__(stream="default")


def test_repr_names_size_pitch_and_device():
    s = host_nv12_surface(7, 5, device_id=2)
    assert repr(s).startswith("Nv12Surface(7x5, pitch=8, cuda:2, ptr=0x")
    assert repr(s.uv).startswith("CudaArray(shape=(3, 4, 2), uint8, cuda:2, ptr=0x")
