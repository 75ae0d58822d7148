"""Imports ComfyUI's modules from a source checkout on a machine without ComfyUI's requirements.

Packages ComfyUI imports at start-up that are not installed become inert stand-ins (attribute access, calls,
subclassing and decoration all work and do nothing), so node classes and comfy.utils load; nothing that needs a
stand-in may be run. Used by the dev scripts beside it; never by tests.
"""
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types

# Packages ComfyUI imports at start-up; those not installed become stand-ins (none of them matters for a schema).
STUBBED = {
    'safetensors', 'transformers', 'tokenizers', 'sentencepiece', 'einops', 'torchsde', 'torchaudio',
    'torchvision', 'kornia', 'spandrel', 'spandrel_extra_arches', 'av', 'aiohttp', 'yarl', 'psutil', 'scipy',
    'comfyui_frontend_package', 'comfyui_workflow_templates', 'comfyui_embedded_docs', 'alembic', 'sqlalchemy',
    'pydantic', 'pydantic_settings', 'requests', 'yaml', 'soundfile', 'cv2', 'skimage', 'trimesh', 'openai',
    'comfy_kitchen', 'blake3', 'filelock', 'tqdm', 'simpleeval', 'typing_extensions_stub', 'huggingface_hub',
    'accelerate', 'packaging', 'xformers', 'triton', 'sageattention', 'flash_attn', 'pynvml', 'torch_directml', 'comfy_aimdo',
}


class Anything(types.ModuleType):
    """A module or attribute that answers every use: attribute access, calls, subclassing, iteration, decoration."""

    def __init__(self, name='stub'):
        super().__init__(name)
        self.__path__ = []

    def __getattr__(self, name):
        if name.startswith('__') and name.endswith('__'):
            raise AttributeError(name)
        value = Anything(f'{self.__name__}.{name}')
        setattr(self, name, value)
        return value

    def __call__(self, *args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]  # used as a decorator
        return Anything(self.__name__ + '()')

    def __mro_entries__(self, bases):
        return (type(self.__name__.rsplit('.', 1)[-1], (), {}),)

    def __iter__(self):
        return iter(())

    def __bool__(self):
        return False

    def __or__(self, other):
        return self

    __ror__ = __or__

    def __getitem__(self, key):
        return self


class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        top = fullname.split('.')[0]
        if top not in STUBBED or self._installed(top):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def _installed(self, top):
        others = [finder for finder in sys.meta_path if finder is not self]
        return any(getattr(f, 'find_spec', None) and f.find_spec(top, None) for f in others)

    def create_module(self, spec):
        return Anything(spec.name)

    def exec_module(self, module):
        pass



def import_comfyui(comfy_dir):
    """Makes `comfy_dir` (a ComfyUI checkout) importable the way main.py starts it, on the CPU."""
    sys.meta_path.insert(0, StubFinder())
    sys.argv = [sys.argv[0], '--cpu']
    sys.path.insert(0, comfy_dir)
    os.chdir(comfy_dir)
    import comfy.options
    comfy.options.enable_args_parsing()  # so '--cpu' reaches comfy.cli_args (this torch has no CUDA)
    import utils.extra_config  # noqa: F401  main.py imports the top-level utils package before any node module
