#!/usr/bin/env python3
"""Writes the seed corpus (Fuzz/corpus/TARGET/) from the protocol examples. Run from the repository root;
the output is committed, so run it again only when protocols/examples changes."""
import json, os, pathlib, re

root = pathlib.Path(__file__).resolve().parent.parent
examples = root / "protocols" / "examples"
out = root / "Fuzz" / "corpus"

def write(target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)

for f in sorted(examples.glob("*.json")):
    data = f.read_bytes()
    if f.name != "manifest.json":
        write("json", f.name, data)
    if ".request." in f.name:
        write("wire", f.name, data)
    if f.name.startswith("lead.request."):
        write("lead", f.name, json.dumps(json.loads(data)["lead"], sort_keys=True).encode())
for f in sorted((examples / "invalid").iterdir()):
    write("wire", "invalid." + f.name, f.read_bytes())
    write("json", "invalid." + f.name, f.read_bytes())
    try:
        lead = json.loads(f.read_bytes()).get("lead")
    except (ValueError, AttributeError):
        lead = None
    if lead is not None:
        write("lead", "invalid." + f.name, json.dumps(lead, sort_keys=True).encode())

# Templates: the built-in ones (TemplateSet.swift), each followed by the 16 slot values, NUL-separated.
source = (root / "Sources" / "CampaignCore" / "TemplateSet.swift").read_text()
templates = re.findall(r'"((?:[^"\\\n]|\\.)*\{\{(?:[^"\\\n]|\\.)*)"', source)
blocks = re.findall(r'"""\n(.*?)\n\s*"""', source, re.S)
values = ["Ann", "Ann Lee", "Acme", "SSO", "Sam", "Initech", "Sam, Initech", "Bob Roe", "Bob", "2", "email",
          "I'm Sam from Initech", "CTO", "VP Sales", "your colleague Bob asked about SSO", "Dec 1"]
for i, t in enumerate(templates + [re.sub(r"^\s+", "", b, flags=re.M) for b in blocks]):
    text = t.encode()
    write("template", f"builtin.{i}", text + b"\0" + b"\0".join(v.encode() for v in values))
    write("template", f"builtin.{i}.absent", text)
