//! The elements the summary acts on, recognised once per start tag ([`Tag::of`]): a table lookup
//! of the name as one 128-bit word.

/// The elements the summary acts on, recognised once per start tag. Comparing the name with
/// each element of the chain below, one string after the other, cost about 300 instructions per
/// tag (callgrind), on the million tags of a large PES; names of up to 15 bytes are looked up here
/// as one 128-bit word (name and length) in a table, and the chain compares small integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    PesAller,
    Signature,
    Version,
    TypFic,
    NomFic,
    Parametres,
    DteStr,
    IdPost,
    LibellePoste,
    IdColl,
    FinJur,
    CodCol,
    CodBud,
    LibelleColBud,
    EnTetePes,
    InfoDematerialisee,
    PesRecetteAller,
    PesDepenseAller,
    Bordereau,
    BlocBordereau,
    Exer,
    IdBord,
    DteBordEm,
    TypBord,
    NbrPce,
    MtBordHT,
    MtBordHt,
    MtBordTva,
    Piece,
    LigneDePiece,
    IdPce,
    TypPce,
    NatPce,
    Obj,
    ObjPce,
    Nom,
    InfoTiers,
    MtHT,
    MtTva,
    Tiers,
    IdUnique,
    PjRef,
    Pj,
    PesPj,
    NomPj,
    TypePj,
    Description,
    Fichier,
    Other,
}

/// A name of at most 15 bytes as one word: its bytes, zero-padded, and its length in the last
/// byte (so that a name holding NUL bytes cannot pass for a shorter one).
/// Used both to build [`NAME_TABLE`] and to look names up in it.
const fn word(name: &[u8]) -> u128 {
    let len = if name.len() < 15 { name.len() } else { 15 };
    let mut bytes = [0u8; 16];
    bytes
        .split_at_mut(len)
        .0
        .copy_from_slice(name.split_at(len).0);
    bytes[15] = name.len() as u8;
    u128::from_le_bytes(bytes)
}

/// The table [`Tag::of`] looks names of up to 15 bytes up in: one slot per name, found by a
/// multiplicative hash of its word — one comparison per tag (a `match` over the words was a tree
/// of 128-bit comparisons whose branches the processor kept mispredicting: 4 % of a signature's
/// parsing thread).
const SLOT_BITS: u32 = 7;
/// A multiplier under which the names below all fall in distinct slots (found by trying; a
/// collision stops the build, see [`NAME_TABLE`]).
const NAME_HASH: u64 = 0x0bd7_fe0c_9db4_8381;

const fn slot(word: u128) -> usize {
    let low = word as u64;
    let high = (word >> 64) as u64;
    (low.wrapping_add(high.rotate_left(7))
        .wrapping_mul(NAME_HASH)
        >> (64 - SLOT_BITS)) as usize
}

static NAME_TABLE: [(u128, Tag); 1 << SLOT_BITS] = {
    let names: [(&[u8], Tag); 45] = [
        (b"PES_Aller", Tag::PesAller),
        (b"Signature", Tag::Signature),
        (b"Version", Tag::Version),
        (b"TypFic", Tag::TypFic),
        (b"NomFic", Tag::NomFic),
        (b"Parametres", Tag::Parametres),
        (b"DteStr", Tag::DteStr),
        (b"IdPost", Tag::IdPost),
        (b"LibellePoste", Tag::LibellePoste),
        (b"IdColl", Tag::IdColl),
        (b"FinJur", Tag::FinJur),
        (b"CodCol", Tag::CodCol),
        (b"CodBud", Tag::CodBud),
        (b"LibelleColBud", Tag::LibelleColBud),
        (b"EnTetePES", Tag::EnTetePes),
        (b"Bordereau", Tag::Bordereau),
        (b"BlocBordereau", Tag::BlocBordereau),
        (b"Exer", Tag::Exer),
        (b"IdBord", Tag::IdBord),
        (b"DteBordEm", Tag::DteBordEm),
        (b"TypBord", Tag::TypBord),
        (b"NbrPce", Tag::NbrPce),
        (b"MtBordHT", Tag::MtBordHT),
        (b"MtBordHt", Tag::MtBordHt),
        (b"MtBordTVA", Tag::MtBordTva),
        (b"Piece", Tag::Piece),
        (b"LigneDePiece", Tag::LigneDePiece),
        (b"IdPce", Tag::IdPce),
        (b"TypPce", Tag::TypPce),
        (b"NatPce", Tag::NatPce),
        (b"Obj", Tag::Obj),
        (b"ObjPce", Tag::ObjPce),
        (b"Nom", Tag::Nom),
        (b"InfoTiers", Tag::InfoTiers),
        (b"MtHT", Tag::MtHT),
        (b"MtTVA", Tag::MtTva),
        (b"Tiers", Tag::Tiers),
        (b"IdUnique", Tag::IdUnique),
        (b"PJRef", Tag::PjRef),
        (b"PJ", Tag::Pj),
        (b"PES_PJ", Tag::PesPj),
        (b"NomPJ", Tag::NomPj),
        (b"TypePJ", Tag::TypePj),
        (b"Description", Tag::Description),
        (b"Fichier", Tag::Fichier),
    ];
    let mut table = [(0u128, Tag::Other); 1 << SLOT_BITS];
    let mut i = 0;
    while i < names.len() {
        let word = word(names[i].0);
        let slot = slot(word);
        assert!(
            matches!(table[slot].1, Tag::Other),
            "deux noms dans une case : changer NAME_HASH"
        );
        table[slot] = (word, names[i].1);
        i += 1;
    }
    table
};

impl Tag {
    pub(super) fn of(name: &str) -> Tag {
        let name = name.as_bytes();
        if name.len() > 15 {
            return match name {
                b"InfoDematerialisee" => Tag::InfoDematerialisee,
                b"PES_RecetteAller" => Tag::PesRecetteAller,
                b"PES_DepenseAller" => Tag::PesDepenseAller,
                _ => Tag::Other,
            };
        }
        let word = word(name);
        let (name, tag) = NAME_TABLE[slot(word)];
        if name == word { tag } else { Tag::Other }
    }
}

#[cfg(test)]
mod tests {
    use super::Tag;

    /// Names are recognised exactly: not by a prefix, not with a NUL byte added (the padding of
    /// the word they are compared as), not across case; long names too.
    #[test]
    fn element_names_are_recognised_exactly() {
        assert_eq!(Tag::of("Exer"), Tag::Exer);
        assert_eq!(Tag::of("Exe"), Tag::Other);
        assert_eq!(Tag::of("Exer\0"), Tag::Other);
        assert_eq!(Tag::of("Exerc"), Tag::Other);
        assert_eq!(Tag::of("MtBordHT"), Tag::MtBordHT);
        assert_eq!(Tag::of("MtBordHt"), Tag::MtBordHt);
        assert_eq!(Tag::of("mtbordht"), Tag::Other);
        assert_eq!(Tag::of("LibelleColBud"), Tag::LibelleColBud);
        assert_eq!(Tag::of("PES_PJ"), Tag::PesPj);
        assert_eq!(Tag::of("PJ"), Tag::Pj);
        assert_eq!(Tag::of("PES_DepenseAller"), Tag::PesDepenseAller);
        assert_eq!(Tag::of("PES_RecetteAller"), Tag::PesRecetteAller);
        assert_eq!(Tag::of("PES_DepenseAlle"), Tag::Other);
        assert_eq!(Tag::of("PES_DepenseAllerX"), Tag::Other);
        assert_eq!(Tag::of("InfoDematerialisee"), Tag::InfoDematerialisee);
        assert_eq!(Tag::of("InfoDematerialise"), Tag::Other);
        assert_eq!(Tag::of(""), Tag::Other);
        // Every name the summary acts on, and each of them with one byte changed.
        let all = [
            ("PES_Aller", Tag::PesAller),
            ("Signature", Tag::Signature),
            ("Version", Tag::Version),
            ("TypFic", Tag::TypFic),
            ("NomFic", Tag::NomFic),
            ("Parametres", Tag::Parametres),
            ("DteStr", Tag::DteStr),
            ("IdPost", Tag::IdPost),
            ("LibellePoste", Tag::LibellePoste),
            ("IdColl", Tag::IdColl),
            ("FinJur", Tag::FinJur),
            ("CodCol", Tag::CodCol),
            ("CodBud", Tag::CodBud),
            ("LibelleColBud", Tag::LibelleColBud),
            ("EnTetePES", Tag::EnTetePes),
            ("Bordereau", Tag::Bordereau),
            ("BlocBordereau", Tag::BlocBordereau),
            ("Exer", Tag::Exer),
            ("IdBord", Tag::IdBord),
            ("DteBordEm", Tag::DteBordEm),
            ("TypBord", Tag::TypBord),
            ("NbrPce", Tag::NbrPce),
            ("MtBordHT", Tag::MtBordHT),
            ("MtBordHt", Tag::MtBordHt),
            ("MtBordTVA", Tag::MtBordTva),
            ("Piece", Tag::Piece),
            ("LigneDePiece", Tag::LigneDePiece),
            ("IdPce", Tag::IdPce),
            ("TypPce", Tag::TypPce),
            ("NatPce", Tag::NatPce),
            ("Obj", Tag::Obj),
            ("ObjPce", Tag::ObjPce),
            ("Nom", Tag::Nom),
            ("InfoTiers", Tag::InfoTiers),
            ("MtHT", Tag::MtHT),
            ("MtTVA", Tag::MtTva),
            ("Tiers", Tag::Tiers),
            ("IdUnique", Tag::IdUnique),
            ("PJRef", Tag::PjRef),
            ("PJ", Tag::Pj),
            ("PES_PJ", Tag::PesPj),
            ("NomPJ", Tag::NomPj),
            ("TypePJ", Tag::TypePj),
            ("Description", Tag::Description),
            ("Fichier", Tag::Fichier),
            ("InfoDematerialisee", Tag::InfoDematerialisee),
            ("PES_RecetteAller", Tag::PesRecetteAller),
            ("PES_DepenseAller", Tag::PesDepenseAller),
        ];
        for (name, tag) in all {
            assert_eq!(Tag::of(name), tag, "{name}");
            for i in 0..name.len() {
                let mut changed = name.as_bytes().to_vec();
                changed[i] ^= 0x01;
                let changed = String::from_utf8(changed).expect("ASCII");
                if !all.iter().any(|(n, _)| *n == changed) {
                    assert_eq!(Tag::of(&changed), Tag::Other, "{changed}");
                }
            }
        }
    }
}
