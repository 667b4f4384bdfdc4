#!/usr/bin/env python3
"""Embeds a text file in a C program: NAME.c defines `const char NAME[]` (NUL-terminated) and
`const size_t NAME_len`, NAME.h declares them. Usage: embed_text.py NAME IN OUT_C OUT_H"""
import sys

name, src, out_c, out_h = sys.argv[1:5]
data = open(src, 'rb').read()
if b'\0' in data:
    sys.exit(f'{src}: holds a NUL byte')
lines = []
for i in range(0, len(data), 64):
    chunk = data[i:i + 64]
    lines.append('    "' + ''.join(c if 32 <= ord(c) < 127 and c not in '"\\?' else '\\%03o' % ord(c)
                             for c in chunk.decode('latin-1')) + '"')
with open(out_c, 'w') as f:
    f.write(f'/* Generated from {src.split("/")[-1]} by tools/embed_text.py. */\n')
    f.write(f'#include <stddef.h>\nconst char {name}[] =\n' + '\n'.join(lines or ['    ""']) + ';\n')
    f.write(f'const size_t {name}_len = {len(data)};\n')
with open(out_h, 'w') as f:
    f.write(f'#pragma once\n#include <stddef.h>\nextern const char {name}[];\nextern const size_t {name}_len;\n')
