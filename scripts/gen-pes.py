#!/usr/bin/env python3
"""Generate a synthetic PES_Aller for benchmarks: N bordereaux of P pieces each and embedded PJ
(base64 of gzipped random data), ISO-8859-1, about SIZE megabytes. Test data only."""
import base64, gzip, os, random, sys

def main():
    out, bordereaux, size_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    rnd = random.Random(42)
    pj_count = 100
    # PJ take about 80% of the file; pieces the rest.
    pj_raw = max(1, int(size_mb * 0.8 * 1024 * 1024 * 3 / 4 / pj_count))
    pieces = max(1, int(size_mb * 0.2 * 1024 * 1024 / 900 / bordereaux))
    with open(out, "wb") as f:
        w = lambda s: f.write(s.encode("iso-8859-1"))
        w('<?xml version="1.0" encoding="ISO-8859-1"?>\n')
        w('<n:PES_Aller xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller" '
          'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="PESBENCH">\n')
        w(' <Enveloppe><Parametres><Version V="2"/><TypFic V="PESALR2"/><NomFic V="bench"/></Parametres>'
          '<Emetteur><Sigle V="BENCH"/><Adresse V="BANC D ESSAI"/></Emetteur><Recepteur><Sigle V="HELIOS"/><Adresse V="DGFIP"/></Recepteur></Enveloppe>\n')
        w(' <EnTetePES><DteStr V="2026-11-27"/><IdPost V="034000"/><IdColl V="21340172200016"/>'
          '<CodCol V="123"/><CodBud V="01"/></EnTetePES>\n')
        w(' <PES_DepenseAller><EnTeteDepense><IdVer V="2"/><InfoDematerialisee V="1"/></EnTeteDepense>\n')
        for b in range(bordereaux):
            total = 0
            body = []
            for p in range(pieces):
                amount = rnd.randint(100, 10_000_00)
                total += amount
                body.append(
                    f'  <Piece><BlocPiece><InfoPce><IdPce V="{p+1}"/><TypPce V="01"/><NatPce V="01"/>'
                    f'<Obj V="Fournitures école n°{p}"/><PJRef><Support V="01"/><IdUnique V="PJ{p % pj_count}"/>'
                    f'<NomPJ V="pj{p % pj_count}.pdf"/></PJRef></InfoPce></BlocPiece>'
                    f'<LigneDePiece><BlocLignePiece><InfoLignePce><IdLigne V="1"/><Nature V="6068"/>'
                    f'<Fonction V="020"/><ModRegl V="03"/><TVAIntraCom V="0"/><MtHT V="{amount // 100}.{amount % 100:02d}"/>'
                    f'</InfoLignePce></BlocLignePiece><Tiers><InfoTiers><RefTiers V="{p+1}"/><CatTiers V="01"/>'
                    f'<NatJur V="01"/><Nom V="Fournisseur Générique {p}"/></InfoTiers>'
                    f'<Adresse><TypAdr V="1"/><Adr2 V="1 rue de la Mairie"/><CP V="34000"/>'
                    f'<Ville V="MONTPELLIER"/><CodRes V="0"/></Adresse></Tiers></LigneDePiece></Piece>\n')
            w(f'  <Bordereau Id="BORD{b+1}"><BlocBordereau><Exer V="2026"/><IdBord V="{b+1}"/>'
              f'<DteBordEm V="2026-11-27"/><TypBord V="01"/><NbrPce V="{pieces}"/>'
              f'<MtBordHT V="{total // 100}.{total % 100:02d}"/></BlocBordereau>\n')
            for line in body:
                w(line)
            w('  </Bordereau>\n')
        w(' </PES_DepenseAller>\n')
        w(' <PES_PJ><EnTetePES_PJ><IdVer V="1"/></EnTetePES_PJ>\n')
        for i in range(pj_count):
            data = gzip.compress(os.urandom(pj_raw), compresslevel=1)
            b64 = base64.encodebytes(data).decode("ascii")
            w(f'  <PJ><Contenu><Fichier MIMEType="application/pdf">{b64}</Fichier></Contenu>'
              f'<IdUnique V="PJ{i}"/><NomPJ V="pj{i}.pdf"/><TypePJ V="003"/><Description V="Facture {i}"/></PJ>\n')
        w(' </PES_PJ>\n</n:PES_Aller>\n')

main()
