#!/usr/bin/env python3
"""Reference canonical forms computed by libxml2, for the Rust tests of src/xml/ (tests/c14n_*.rs).

Usage: c14n_ref.py MANIFEST OUTDIR

MANIFEST has one job per line, tab-separated:
    job  kind  file  exclusive  with_comments  prefixes  id_attr  id  exclude_sig
  kind       lxml-doc   : lxml etree.tostring(tree, method="c14n", ...)
             lxml-id    : the same for the element whose attribute id_attr == id (lxml canonicalises
                          it as the root of a copy of the document holding the inherited namespaces);
                          with exclude_sig=1, its ds:Signature children are removed first (their tail
                          text kept, as the enveloped-signature transform keeps it)
             libxml2-doc: xmlC14NDocDumpMemory(doc, NULL, ...) through ctypes (system libxml2, the one
                          xmllint and xmlsec1 use)
             libxml2-id : xmlC14NDocDumpMemory with the XPath node-set of the element's subtree, minus
                          the subtrees of its ds:Signature children if exclude_sig=1: what xmlsec1 does
                          for a reference URI="#id" (+ enveloped-signature transform)
  exclusive, with_comments, exclude_sig: 0 or 1; prefixes: space-separated InclusiveNamespaces
  PrefixList ("-" for none; "#default" for the default namespace); id_attr, id: "-" for *-doc jobs.

For each job, writes OUTDIR/<job>.out (canonical bytes) or OUTDIR/<job>.err (libxml2's refusal), and
for lxml-id jobs OUTDIR/<job>.ancxml when an ancestor of the element has an xml:* attribute (lxml's
way does not add them to the apex, unlike Canonical XML 1.0 and xmlsec1).
"""

import ctypes
import ctypes.util
import os
import sys

XML_NS = "http://www.w3.org/XML/1998/namespace"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"

_libxml2 = None


def libxml2():
    global _libxml2
    if _libxml2 is None:
        name = ctypes.util.find_library("xml2") or "libxml2.so.2"
        lib = ctypes.CDLL(name)
        lib.xmlReadFile.restype = ctypes.c_void_p
        lib.xmlReadFile.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        lib.xmlFreeDoc.argtypes = [ctypes.c_void_p]
        lib.xmlXPathNewContext.restype = ctypes.c_void_p
        lib.xmlXPathNewContext.argtypes = [ctypes.c_void_p]
        lib.xmlXPathFreeContext.argtypes = [ctypes.c_void_p]
        lib.xmlXPathRegisterNs.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
        lib.xmlXPathEvalExpression.restype = ctypes.c_void_p
        lib.xmlXPathEvalExpression.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        lib.xmlXPathFreeObject.argtypes = [ctypes.c_void_p]
        lib.xmlC14NDocDumpMemory.restype = ctypes.c_int
        lib.xmlC14NDocDumpMemory.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
            ctypes.POINTER(ctypes.c_void_p)]
        _libxml2 = lib
    return _libxml2


class XPathObject(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("nodesetval", ctypes.c_void_p)]


XML_PARSE_NOENT = 2
XML_PARSE_NONET = 2048


def libxml2_c14n(path, exclusive, with_comments, prefixes, id_attr=None, id_value=None,
                 exclude_sig=False):
    lib = libxml2()
    # The options xmllint --c14n uses (entities are moot: no DOCTYPE in the tested documents).
    doc = lib.xmlReadFile(path.encode(), None, XML_PARSE_NOENT | XML_PARSE_NONET)
    if not doc:
        raise ValueError("libxml2 cannot parse the document")
    ctx = None
    obj = None
    try:
        nodes = None
        if id_attr is not None:
            for s in (id_attr, id_value):
                if "'" in s or '"' in s:
                    raise ValueError("quotes in identifiers are not supported here")
            ctx = lib.xmlXPathNewContext(doc)
            lib.xmlXPathRegisterNs(ctx, b"ds", DSIG_NS.encode())
            apex = "*[@*[name()='%s']='%s']" % (id_attr, id_value)
            cond = "ancestor-or-self::%s" % apex
            if exclude_sig:
                cond += " and not(ancestor-or-self::ds:Signature[parent::%s])" % apex
            expr = "(//. | //@* | //namespace::*)[%s]" % cond
            obj = lib.xmlXPathEvalExpression(expr.encode(), ctx)
            if not obj:
                raise ValueError("XPath failed")
            nodes = ctypes.cast(obj, ctypes.POINTER(XPathObject)).contents.nodesetval
        c_prefixes = None
        if prefixes:
            arr = (ctypes.c_char_p * (len(prefixes) + 1))()
            for i, p in enumerate(prefixes):
                arr[i] = p.encode()
            arr[len(prefixes)] = None
            c_prefixes = ctypes.cast(arr, ctypes.c_void_p)
        out = ctypes.c_void_p()
        n = lib.xmlC14NDocDumpMemory(doc, nodes, 1 if exclusive else 0, c_prefixes,
                                     1 if with_comments else 0, ctypes.byref(out))
        if n < 0:
            raise ValueError("libxml2 refuses to canonicalise the document")
        return ctypes.string_at(out, n) if n > 0 else b""
    finally:
        if obj:
            lib.xmlXPathFreeObject(obj)
        if ctx:
            lib.xmlXPathFreeContext(ctx)
        lib.xmlFreeDoc(doc)


def lxml_c14n(path, exclusive, with_comments, prefixes, id_attr=None, id_value=None,
              exclude_sig=False):
    from lxml import etree
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    tree = etree.parse(path, parser)
    target = tree
    ancestors_xml = False
    if id_attr is not None:
        found = [e for e in tree.iter(etree.Element) if e.get(id_attr) == id_value]
        if len(found) != 1:
            raise ValueError("%d elements with %s=%s" % (len(found), id_attr, id_value))
        target = found[0]
        for anc in target.iterancestors():
            if any(k.startswith("{%s}" % XML_NS) for k in anc.attrib.keys()):
                ancestors_xml = True
        if exclude_sig:
            for child in list(target):
                if child.tag == "{%s}Signature" % DSIG_NS:
                    # Keep the text after the signature: only the element is removed.
                    tail = child.tail or ""
                    prev = child.getprevious()
                    if prev is not None:
                        prev.tail = (prev.tail or "") + tail
                    else:
                        target.text = (target.text or "") + tail
                    child.tail = None
                    target.remove(child)
    data = etree.tostring(target, method="c14n", exclusive=exclusive,
                          with_comments=with_comments,
                          inclusive_ns_prefixes=prefixes or None)
    return data, ancestors_xml


def main():
    manifest, outdir = sys.argv[1], sys.argv[2]
    with open(manifest, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f if l.strip()]
    for line in lines:
        job, kind, path, exclusive, with_comments, prefixes, id_attr, id_value, exclude_sig = \
            line.split("\t")
        exclusive = exclusive == "1"
        with_comments = with_comments == "1"
        exclude_sig = exclude_sig == "1"
        prefixes = [] if prefixes == "-" else prefixes.split(" ")
        if id_attr == "-":
            id_attr = id_value = None
        try:
            if kind.startswith("lxml"):
                data, ancestors_xml = lxml_c14n(path, exclusive, with_comments, prefixes, id_attr,
                                                id_value, exclude_sig)
                if ancestors_xml:
                    open(os.path.join(outdir, job + ".ancxml"), "wb").close()
            else:
                data = libxml2_c14n(path, exclusive, with_comments, prefixes, id_attr, id_value,
                                    exclude_sig)
            with open(os.path.join(outdir, job + ".out"), "wb") as out:
                out.write(data)
        except Exception as e:  # the refusal is the reference result
            with open(os.path.join(outdir, job + ".err"), "w", encoding="utf-8") as out:
                out.write("%s: %s\n" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
