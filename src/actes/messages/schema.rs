//! The structure of `actesv1_1.xsd` as data: element order and cardinality, required and allowed
//! attributes, simple types, for every root element. It mirrors the schema shipped with STELA
//! (revised: `DocumentPapier` required, `TypePJNatureActe` required in a classification). Mostly
//! a long table, kept apart from the code that walks it ([`check`](super::check)) so that each
//! reads on its own.

use super::model::MessageKind;

/// Simple types of the schema.
#[derive(Debug, Clone, Copy)]
pub(super) enum St {
    Str,
    MaxLen(usize),
    Len(usize),
    Date,
    Integer,
    NonNegInteger,
    IdActe,
    Departement,
    Arrondissement,
    NatureCollectivite,
    Siren,
    Email,
    NatureAnomalieActe,
    NatureAnomalieEnveloppe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ns {
    Actes,
    Insee,
}

pub(super) struct AttrDef {
    pub(super) ns: Ns,
    pub(super) name: &'static str,
    pub(super) ty: St,
    pub(super) required: bool,
}

/// One particle of a sequence: one of `names` (a choice when several), `min..=max` times.
pub(super) struct Particle {
    pub(super) names: &'static [(&'static str, &'static Def)],
    pub(super) min: u32,
    pub(super) max: u32,
}

pub(super) enum Content {
    /// Attributes only.
    Empty,
    Simple(St),
    Seq(&'static [Particle]),
    /// `xsd:anyType`: not checked.
    Any,
}

pub(super) struct Def {
    pub(super) content: Content,
    pub(super) attrs: &'static [AttrDef],
    pub(super) nillable: bool,
}

const UNBOUNDED: u32 = u32::MAX;

const fn req(ns: Ns, name: &'static str, ty: St) -> AttrDef {
    AttrDef {
        ns,
        name,
        ty,
        required: true,
    }
}

static TEXTE: Def = Def {
    content: Content::Simple(St::Str),
    attrs: &[],
    nillable: false,
};
static DATE: Def = Def {
    content: Content::Simple(St::Date),
    attrs: &[],
    nillable: false,
};
static EMAIL: Def = Def {
    content: Content::Simple(St::Email),
    attrs: &[],
    nillable: false,
};
static ANY: Def = Def {
    content: Content::Any,
    attrs: &[],
    nillable: false,
};
static FICHIER_SIGNE: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("NomFichier", &TEXTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Signature", &ANY)],
            min: 0,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static FICHIERS_SIGNES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Document", &FICHIER_SIGNE)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
static CODE_MATIERE: Def = Def {
    content: Content::Empty,
    attrs: &[req(Ns::Actes, "CodeMatiere", St::Integer)],
    nillable: false,
};
static OBJET: Def = Def {
    content: Content::Simple(St::MaxLen(500)),
    attrs: &[],
    nillable: false,
};
static PRECEDENT: Def = Def {
    content: Content::Empty,
    attrs: &[req(Ns::Actes, "IDActe", St::IdActe)],
    nillable: false,
};
static ANNEXES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Annexe", &FICHIER_SIGNE)],
        min: 0,
        max: UNBOUNDED,
    }]),
    attrs: &[req(Ns::Actes, "Nombre", St::NonNegInteger)],
    nillable: false,
};
static DOCUMENT_PAPIER: Def = Def {
    content: Content::Simple(St::Str),
    attrs: &[],
    nillable: true,
};
static DONNEES_ACTE: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("CodeMatiere1", &CODE_MATIERE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("CodeMatiere2", &CODE_MATIERE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("CodeMatiere3", &CODE_MATIERE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("CodeMatiere4", &CODE_MATIERE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("CodeMatiere5", &CODE_MATIERE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("Objet", &OBJET)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("PrecedentIdentifiantActe", &PRECEDENT)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("ClassificationDateVersion", &DATE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Document", &FICHIER_SIGNE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Annexes", &ANNEXES)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("DocumentPapier", &DOCUMENT_PAPIER)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[
        req(Ns::Actes, "Date", St::Date),
        req(Ns::Actes, "NumeroInterne", St::MaxLen(15)),
        req(Ns::Actes, "CodeNatureActe", St::Integer),
    ],
    nillable: false,
};
static AR_ACTE: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("ActeRecu", &DONNEES_ACTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("ClassificationDateVersionEnCours", &DATE)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[
        req(Ns::Actes, "IDActe", St::IdActe),
        req(Ns::Actes, "DateReception", St::Date),
    ],
    nillable: false,
};
static NATURE_ANOMALIE_ACTE: Def = Def {
    content: Content::Simple(St::NatureAnomalieActe),
    attrs: &[],
    nillable: false,
};
static ANOMALIE_ACTE: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Date", &DATE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Nature", &NATURE_ANOMALIE_ACTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Detail", &TEXTE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("ActeRecu", &DONNEES_ACTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("ClassificationDateVersionEnCours", &DATE)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
const COURRIER_PREF_ATTRS: &[AttrDef] = &[
    req(Ns::Actes, "IDActe", St::IdActe),
    req(Ns::Actes, "DateCourrierPref", St::Date),
];
static COURRIER_PREF: Def = Def {
    content: Content::Empty,
    attrs: COURRIER_PREF_ATTRS,
    nillable: false,
};
static COURRIER_AVEC_DOCUMENT: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Document", &FICHIER_SIGNE)],
        min: 1,
        max: 1,
    }]),
    attrs: COURRIER_PREF_ATTRS,
    nillable: false,
};
static DEMANDE_PIECES: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("DescriptionPieces", &TEXTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Document", &FICHIER_SIGNE)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: COURRIER_PREF_ATTRS,
    nillable: false,
};
static PIECES_COMPLEMENTAIRES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Documents", &FICHIERS_SIGNES)],
        min: 1,
        max: 1,
    }]),
    attrs: COURRIER_PREF_ATTRS,
    nillable: false,
};
static AR_REPONSE_CL: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("InfosCourrierPref", &COURRIER_PREF)],
        min: 1,
        max: 1,
    }]),
    attrs: &[req(Ns::Actes, "DateReception", St::Date)],
    nillable: false,
};
static LETTRE_OBSERVATIONS: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Motif", &TEXTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Document", &FICHIER_SIGNE)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: COURRIER_PREF_ATTRS,
    nillable: false,
};
static PIECES_JOINTES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("PieceJointe", &FICHIER_SIGNE)],
        min: 0,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
static DEFERE_TA: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("DateDepot", &DATE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("NatureIllegalite", &TEXTE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("PiecesJointes", &PIECES_JOINTES)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[req(Ns::Actes, "IDActe", St::IdActe)],
    nillable: false,
};
static ANNULATION: Def = Def {
    content: Content::Empty,
    attrs: &[req(Ns::Actes, "IDActe", St::IdActe)],
    nillable: false,
};
static AR_ANNULATION: Def = Def {
    content: Content::Empty,
    attrs: &[
        req(Ns::Actes, "IDActe", St::IdActe),
        req(Ns::Actes, "DateReception", St::Date),
    ],
    nillable: false,
};
static DEMANDE_CLASSIFICATION: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("DateClassification", &DATE)],
        min: 0,
        max: 1,
    }]),
    attrs: &[],
    nillable: false,
};
static SANS_CHANGEMENT: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("DateClassification", &DATE)],
        min: 1,
        max: 1,
    }]),
    attrs: &[],
    nillable: false,
};
static TYPE_PJ: Def = Def {
    content: Content::Empty,
    attrs: &[
        req(Ns::Actes, "CodeTypePJ", St::Str),
        req(Ns::Actes, "Libelle", St::Str),
    ],
    nillable: false,
};
static NATURE_ACTE: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("TypePJNatureActe", &TYPE_PJ)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[
        AttrDef {
            ns: Ns::Actes,
            name: "CodeNatureActe",
            ty: St::Integer,
            required: false,
        },
        req(Ns::Actes, "Libelle", St::Str),
        req(Ns::Actes, "TypeAbrege", St::Len(2)),
    ],
    nillable: false,
};
static NATURES_ACTES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("NatureActe", &NATURE_ACTE)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
const MATIERE_ATTRS: &[AttrDef] = &[
    req(Ns::Actes, "CodeMatiere", St::Integer),
    req(Ns::Actes, "Libelle", St::Str),
];
static MATIERE5: Def = Def {
    content: Content::Empty,
    attrs: MATIERE_ATTRS,
    nillable: false,
};
static MATIERE4: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Matiere5", &MATIERE5)],
        min: 0,
        max: UNBOUNDED,
    }]),
    attrs: MATIERE_ATTRS,
    nillable: false,
};
static MATIERE3: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Matiere4", &MATIERE4)],
        min: 0,
        max: UNBOUNDED,
    }]),
    attrs: MATIERE_ATTRS,
    nillable: false,
};
static MATIERE2: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Matiere3", &MATIERE3)],
        min: 0,
        max: UNBOUNDED,
    }]),
    attrs: MATIERE_ATTRS,
    nillable: false,
};
static MATIERE1: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Matiere2", &MATIERE2)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: MATIERE_ATTRS,
    nillable: false,
};
static MATIERES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Matiere1", &MATIERE1)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
static RETOUR_CLASSIFICATION: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("DateClassification", &DATE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("NaturesActes", &NATURES_ACTES)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Matieres", &MATIERES)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static IDCL: Def = Def {
    content: Content::Empty,
    attrs: &[
        req(Ns::Insee, "SIREN", St::Siren),
        req(Ns::Actes, "Departement", St::Departement),
        req(Ns::Actes, "Arrondissement", St::Arrondissement),
        req(Ns::Actes, "Nature", St::NatureCollectivite),
    ],
    nillable: false,
};
static REFERENT: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Nom", &TEXTE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("Telephone", &TEXTE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("Email", &EMAIL)],
            min: 0,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static EMETTEUR_CL: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("IDCL", &IDCL)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Referent", &REFERENT)],
            min: 0,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static ADRESSES_RETOUR: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Email", &EMAIL)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
static FORMULAIRES: Def = Def {
    content: Content::Seq(&[Particle {
        names: &[("Formulaire", &FICHIER_SIGNE)],
        min: 1,
        max: UNBOUNDED,
    }]),
    attrs: &[],
    nillable: false,
};
static ENVELOPPE_CL: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Emetteur", &EMETTEUR_CL)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("AdressesRetour", &ADRESSES_RETOUR)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("FormulairesEnvoyes", &FORMULAIRES)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static ID_DEPARTEMENT: Def = Def {
    content: Content::Empty,
    attrs: &[req(Ns::Actes, "Departement", St::Departement)],
    nillable: false,
};
static ID_SOUS_PREF: Def = Def {
    content: Content::Empty,
    attrs: &[
        req(Ns::Actes, "Departement", St::Departement),
        req(Ns::Actes, "Arrondissement", St::Arrondissement),
    ],
    nillable: false,
};
static EMETTEUR_PREF: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[
                ("IDSGAR", &ID_DEPARTEMENT),
                ("IDPref", &ID_DEPARTEMENT),
                ("IDSousPref", &ID_SOUS_PREF),
            ],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Referent", &REFERENT)],
            min: 0,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static DESTINATAIRE: Def = Def {
    content: Content::Empty,
    attrs: &[req(Ns::Insee, "SIREN", St::Siren)],
    nillable: false,
};
static ENVELOPPE_PREF: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Emetteur", &EMETTEUR_PREF)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("FormulairesEnvoyes", &FORMULAIRES)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Destinataire", &DESTINATAIRE)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};
static NATURE_ANOMALIE_ENVELOPPE: Def = Def {
    content: Content::Simple(St::NatureAnomalieEnveloppe),
    attrs: &[],
    nillable: false,
};
static ANOMALIE_ENVELOPPE: Def = Def {
    content: Content::Seq(&[
        Particle {
            names: &[("Date", &DATE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Nature", &NATURE_ANOMALIE_ENVELOPPE)],
            min: 1,
            max: 1,
        },
        Particle {
            names: &[("Detail", &TEXTE)],
            min: 0,
            max: 1,
        },
        Particle {
            names: &[("EnveloppeRecue", &ENVELOPPE_CL)],
            min: 1,
            max: 1,
        },
    ]),
    attrs: &[],
    nillable: false,
};

/// The schema definition of a kind's root element. Here rather than a method of
/// [`MessageKind`] so that the model knows nothing of the tables.
pub(super) fn definition(kind: MessageKind) -> &'static Def {
    use MessageKind::*;
    match kind {
        Acte => &DONNEES_ACTE,
        ARActe => &AR_ACTE,
        AnomalieActe => &ANOMALIE_ACTE,
        CourrierSimple
        | ReponseCourrierSimple
        | RefusPieceComplementaire
        | RejetLettreObservations
        | ReponseLettreObservations => &COURRIER_AVEC_DOCUMENT,
        DemandePieceComplementaire => &DEMANDE_PIECES,
        ARDemandePieceComplementaire | ARLettreObservations => &COURRIER_PREF,
        PieceComplementaire => &PIECES_COMPLEMENTAIRES,
        ARPieceComplementaire | ARReponseRejetLettreObservations => &AR_REPONSE_CL,
        LettreObservations => &LETTRE_OBSERVATIONS,
        DefereTA => &DEFERE_TA,
        Annulation => &ANNULATION,
        ARAnnulation => &AR_ANNULATION,
        DemandeClassification => &DEMANDE_CLASSIFICATION,
        RetourClassification => &RETOUR_CLASSIFICATION,
        ReponseClassificationSansChangement => &SANS_CHANGEMENT,
        EnveloppeCLMISILL => &ENVELOPPE_CL,
        EnveloppeMISILLCL => &ENVELOPPE_PREF,
        AnomalieEnveloppe => &ANOMALIE_ENVELOPPE,
    }
}
