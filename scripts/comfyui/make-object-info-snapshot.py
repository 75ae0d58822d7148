#!/usr/bin/env python3
"""Writes ComfyUI's own /object_info entries for a list of node classes, as ComfyUI's server.py renders them.

Dev tool only (tests read the committed JSON, never run Python). Usage, from the repository root:

    git --git-dir=/work/.mirror/Comfy-Org+ComfyUI/repo --work-tree=/tmp/comfy checkout HEAD -- '*.py' '*.json'
    /usr/bin/python3 scripts/comfyui/make-object-info-snapshot.py /tmp/comfy <commit> \
        > test/server/fixtures/comfyui-object-info.json

It imports ComfyUI's node modules from that checkout (nodes.py and the comfy_extras files listed in classes.json)
through comfy_import.py, which replaces the packages ComfyUI needs at import time but this machine lacks
(safetensors, transformers, einops, ...) by inert stand-ins: only the node classes' schemas are read. Each entry is built the way
server.py's `node_info` builds it: `GET_NODE_INFO_V1()` for comfy_api (v3) nodes, else INPUT_TYPES(), RETURN_TYPES,
OUTPUT_IS_LIST, RETURN_NAMES, ... in the same order with the same fallbacks. The entries are rendered with empty
model and input folders; `folder_backed` names the inputs whose option lists change when every folder holds a file
(the lists that depend on the machine).
"""
import json
import os
import sys
import tempfile

from comfy_import import import_comfyui

def node_info(mappings, display_names, node_class, internal_base):
    """server.py's node_info, step for step."""
    obj_class = mappings[node_class]
    if internal_base is not None and issubclass(obj_class, internal_base):
        return obj_class.GET_NODE_INFO_V1()
    info = {}
    info['input'] = obj_class.INPUT_TYPES()
    info['input_order'] = {key: list(value.keys()) for (key, value) in obj_class.INPUT_TYPES().items()}
    info['output'] = obj_class.RETURN_TYPES
    info['output_is_list'] = obj_class.OUTPUT_IS_LIST if hasattr(obj_class, 'OUTPUT_IS_LIST') else [False] * len(obj_class.RETURN_TYPES)
    info['output_name'] = obj_class.RETURN_NAMES if hasattr(obj_class, 'RETURN_NAMES') else info['output']
    info['name'] = node_class
    info['display_name'] = display_names[node_class] if node_class in display_names else node_class
    info['description'] = obj_class.DESCRIPTION if hasattr(obj_class, 'DESCRIPTION') else ''
    info['python_module'] = getattr(obj_class, 'RELATIVE_PYTHON_MODULE', 'nodes')
    info['category'] = 'sd'
    info['output_node'] = bool(hasattr(obj_class, 'OUTPUT_NODE') and obj_class.OUTPUT_NODE is True)
    if hasattr(obj_class, 'CATEGORY'):
        info['category'] = obj_class.CATEGORY
    if hasattr(obj_class, 'OUTPUT_TOOLTIPS'):
        info['output_tooltips'] = obj_class.OUTPUT_TOOLTIPS
    if getattr(obj_class, 'DEPRECATED', False):
        info['deprecated'] = True
    if getattr(obj_class, 'EXPERIMENTAL', False):
        info['experimental'] = True
    if hasattr(obj_class, 'API_NODE'):
        info['api_node'] = obj_class.API_NODE
    return info


def main():
    comfy_dir, commit = sys.argv[1], sys.argv[2]
    classes = json.load(open(os.path.join(os.path.dirname(__file__), 'classes.json')))
    import_comfyui(comfy_dir)
    import asyncio
    import nodes
    import folder_paths
    from comfyui_version import __version__
    try:
        from comfy_api.internal import _ComfyNodeInternal
    except ImportError:
        _ComfyNodeInternal = None
    # The comfy_extras modules, loaded the way nodes.init_builtin_extra_nodes loads them (v1 mappings or v3
    # extensions), so RELATIVE_PYTHON_MODULE is set as ComfyUI sets it.
    for module_name in classes['extra_modules']:
        ok = asyncio.run(nodes.load_custom_node(os.path.join(comfy_dir, 'comfy_extras', module_name + '.py'), module_parent='comfy_extras'))
        if not ok:
            raise SystemExit(f'could not load comfy_extras/{module_name}.py')
    for name in classes['classes']:
        if name not in nodes.NODE_CLASS_MAPPINGS:
            raise SystemExit(f'{name} is not a ComfyUI node class at this commit')
    render = lambda: {name: json.loads(json.dumps(node_info(nodes.NODE_CLASS_MAPPINGS, nodes.NODE_DISPLAY_NAME_MAPPINGS, name, _ComfyNodeInternal), default=list)) for name in classes['classes']}
    # With empty model and input folders: what a bare ComfyUI serves.
    empty_input = tempfile.mkdtemp()
    folder_paths.set_input_directory(empty_input)
    folder_paths.get_filename_list = lambda folder: []
    object_info = render()
    # Once more with a file in every folder: the inputs whose lists change read the machine's folders.
    probe_input = tempfile.mkdtemp()
    open(os.path.join(probe_input, 'probe.png'), 'wb').close()
    folder_paths.set_input_directory(probe_input)
    folder_paths.get_filename_list = lambda folder: ['probe.safetensors']
    probed = render()
    folder_backed = {}
    for name, entry in object_info.items():
        for group, inputs in entry['input'].items():
            for input_name, spec in inputs.items():
                if probed[name]['input'][group][input_name] != spec:
                    folder_backed.setdefault(name, []).append(input_name)
    out = {'comfyui_version': __version__, 'comfyui_commit': commit, 'made_by': 'scripts/comfyui/make-object-info-snapshot.py',
           'folder_backed': folder_backed, 'object_info': object_info}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
