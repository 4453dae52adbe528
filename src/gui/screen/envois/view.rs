//! How the Envois screen looks: the sending bar, « À signer », the lot bar, the list, the
//! answer form.

use super::{
    Choix, CollectiviteChoix, Message, PAGE, ReplyField, ReplyForm, SEARCH_ID, State,
    TRANSACTION_ID,
};
use crate::gui::files::{Kind, Request};
use crate::gui::theme;
use crate::messages::{t, tf};
use crate::outbox::{Item, State as ItemState, Tri};
use iced::widget::{button, column, row, scrollable, text, text_input};
use iced::{Element, Length};
use std::sync::atomic::Ordering;

/// The answer form: the letter and its typology, the pieces (demande de pièces) or the refusal.
/// The PIN is the one of the bar above.
fn reply_view(form: &ReplyForm) -> Element<'_, Message> {
    let mut col = column![
        text(tf("gui.reponse_titre", &[("courrier", &form.courrier)])).size(theme::HEADING),
        row![
            text_input(&t("gui.reponse_lettre"), &form.lettre)
                .on_input(|v| Message::ReplyEdit(ReplyField::Lettre, v))
                .padding(theme::PAD),
            button(text(t("gui.parcourir")))
                .padding(theme::PAD)
                .on_press(Message::Browse(Request::open(Kind::Lettre))),
            text_input("99_AU", &form.type_lettre)
                .on_input(|v| Message::ReplyEdit(ReplyField::TypeLettre, v))
                .width(100)
                .padding(theme::PAD),
        ]
        .spacing(theme::GAP),
    ]
    .spacing(theme::GAP);
    // Pieces go only with a demande de pièces (the platform lists them nowhere else); a
    // demande may be refused and a lettre d'observations rejected, by a letter alone.
    if form.kind == 3 {
        col = col.push(
            text_input(&t("gui.reponse_pieces"), &form.pieces)
                .on_input(|v| Message::ReplyEdit(ReplyField::Pieces, v))
                .padding(theme::PAD),
        );
    }
    let refusal = match form.kind {
        3 => Some(t("gui.reponse_refus")),
        4 => Some(t("gui.reponse_rejet_observations")),
        _ => None,
    };
    if let Some(label) = refusal {
        col = col.push(
            iced::widget::checkbox(form.refus)
                .label(label)
                .on_toggle(Message::ReplyRefus),
        );
    }
    let ready =
        !form.sending && !form.lettre.trim().is_empty() && form.type_lettre.trim().len() == 5;
    col = col.push(
        row![
            button(text(t("gui.reponse_envoyer")))
                .on_press_maybe(ready.then_some(Message::SendReply)),
            button(text(t("gui.annuler"))).on_press(Message::CancelReply),
        ]
        .spacing(theme::GAP),
    );
    match &form.result {
        Some(Ok(m)) | Some(Err(m)) => col = col.push(text(m.clone()).size(theme::TEXT)),
        None => {}
    }
    col.into()
}

/// The list's column widths (shares of the row), the same for the headers and the rows; the
/// collectivité's, when shown, is [`State::collectivite_width`].
const OBJET: u16 = 4;
const NUMERO: u16 = 2;
const ETAT: u16 = 3;
const DATE: u16 = 2;

impl State {
    /// The sending bar: PIN, "Envoyer maintenant" / "Arrêter", and what the last sending did.
    fn send_bar(&self) -> Element<'_, Message> {
        let mut bar = row![].spacing(theme::GAP);
        if self.sending.is_some() {
            let total = self.upload.total.load(Ordering::Relaxed);
            let sent = self.upload.sent.load(Ordering::Relaxed).min(total);
            let status = if total > 0 {
                tf(
                    "gui.envoi_progression",
                    &[
                        ("envoye", &crate::actes::files::human_size(sent)),
                        ("total", &crate::actes::files::human_size(total)),
                    ],
                )
            } else {
                t("gui.envoi_en_cours")
            };
            bar = bar
                .push(text(status).size(theme::TEXT))
                .push(
                    iced::widget::progress_bar(0.0..=1.0, sent as f32 / total.max(1) as f32)
                        .length(200),
                )
                .push(button(text(t("gui.arreter"))).on_press(Message::Stop));
        } else {
            bar = bar.push(
                text_input(&t("gui.pin_authentification"), &self.pin)
                    .secure(true)
                    .on_input(|v| Message::PinChanged(v.into()))
                    .on_submit(Message::Send)
                    .width(260),
            );
            if let Some(login) = &self.login {
                bar = bar.push(
                    text_input(
                        &tf("gui.mot_de_passe_plateforme", &[("identifiant", login)]),
                        &self.password,
                    )
                    .secure(true)
                    .on_input(|v| Message::PasswordChanged(v.into()))
                    .on_submit(Message::Send)
                    .width(300),
                );
            }
            bar = bar.push(button(text(t("gui.envoyer_maintenant"))).on_press(Message::Send));
        }
        let mut col = column![bar].spacing(theme::GAP);
        match &self.last {
            Some(Ok(r)) => {
                col = col.push(
                    text(tf(
                        "gui.envoi_rapport",
                        &[
                            ("envoyes", &r.envoyes.to_string()),
                            ("acquittes", &r.acquittes.to_string()),
                            ("refuses", &r.refuses.to_string()),
                            ("courriers", &r.courriers.to_string()),
                            ("retours", &r.retours_pes.to_string()),
                        ],
                    ))
                    .size(theme::TEXT),
                );
                if r.a_rattacher > 0 {
                    col = col.push(
                        text(tf(
                            "envoi.cli.a_rattacher",
                            &[("nombre", &r.a_rattacher.to_string())],
                        ))
                        .size(theme::TEXT),
                    );
                }
                for e in &r.erreurs {
                    col = col.push(text(e.clone()).size(theme::SMALL));
                }
            }
            Some(Err(e)) => col = col.push(text(e.clone()).size(theme::TEXT)),
            None => {}
        }
        col.into()
    }

    /// What can be done with the item shown: withdraw it before it leaves, queue it when it was
    /// signed and kept out of the queue, send it again now,
    /// or ask the préfecture to cancel an acknowledged act (with the PIN of the bar above).
    fn item_actions(&self, item: &Item) -> Element<'_, Message> {
        let id = item.id;
        let ready = |m: Message| (!self.busy).then_some(m);
        let mut actions = row![].spacing(theme::GAP);
        if item.etat.can_be_withdrawn() {
            actions = actions.push(
                button(text(t("gui.envoi_retirer"))).on_press_maybe(ready(Message::Withdraw(id))),
            );
        }
        if item.etat == ItemState::Signe {
            actions = actions.push(
                button(text(t("gui.envoi_mettre_en_file")))
                    .on_press_maybe(ready(Message::Release(id))),
            );
        }
        if item.etat.can_be_retried() {
            actions = actions.push(
                button(text(t("gui.envoi_relancer"))).on_press_maybe(ready(Message::RetryNow(id))),
            );
        }
        if item.genre == crate::outbox::Kind::Acte && item.etat == ItemState::Acquitte {
            actions = actions.push(
                button(text(t("gui.envoi_demander_annulation")))
                    .on_press_maybe(ready(Message::CancelAct(id))),
            );
        }
        if !item.awaits_attachment() {
            return actions.into();
        }
        // A PES the platform already held: the person finds its transaction there and types it.
        let typed = !self.transaction.trim().is_empty();
        let attach = row![
            text_input(&t("gui.envoi_rattacher_numero"), &self.transaction)
                .id(TRANSACTION_ID)
                .on_input(Message::TransactionEdit)
                .on_submit_maybe((typed && !self.busy).then_some(Message::Attach(id)))
                .width(Length::Fixed(280.0)),
            button(text(t("gui.envoi_rattacher")))
                .on_press_maybe(ready(Message::Attach(id)).filter(|_| typed)),
        ]
        .spacing(theme::GAP);
        column![
            actions,
            text(t("gui.envoi_a_rattacher_aide")).size(theme::TEXT),
            attach
        ]
        .spacing(theme::GAP)
        .into()
    }

    /// « À signer »: the prepared items, each ticked unless unticked, the signature PIN, the
    /// button, and what the last signing did per item.
    fn to_sign_block(&self) -> Element<'_, Message> {
        let mut col =
            column![text(t("gui.a_signer_titre")).size(theme::HEADING)].spacing(theme::GAP);
        if !self.to_sign.is_empty() {
            col = col.push(text(t("gui.a_signer_explication")).size(theme::TEXT));
        }
        for item in &self.to_sign {
            let id = item.id;
            col = col.push(
                iced::widget::checkbox(!self.not_chosen.contains(&id))
                    .label(tf(
                        "gui.a_signer_ligne",
                        &[("id", &id.to_string()), ("libelle", &item.libelle)],
                    ))
                    .on_toggle_maybe(
                        (!self.signing).then_some(move |c| Message::ChooseToSign(id, c)),
                    ),
            );
        }
        let chosen = self.chosen_to_sign().len();
        if !self.to_sign.is_empty() {
            let label = if self.signing {
                t("gui.a_signer_en_cours")
            } else if chosen == 1 {
                t("gui.a_signer_bouton_un")
            } else {
                tf("gui.a_signer_bouton", &[("n", &chosen.to_string())])
            };
            let ready = !self.signing && chosen > 0;
            col = col.push(
                row![
                    text_input(&t("gui.pin_signature"), &self.sign_pin)
                        .secure(true)
                        .on_input(|v| Message::SignPinChanged(v.into()))
                        .on_submit_maybe(ready.then_some(Message::SignChosen))
                        .width(300),
                    button(text(label)).on_press_maybe(ready.then_some(Message::SignChosen)),
                ]
                .spacing(theme::GAP)
                .align_y(iced::Alignment::Center),
            );
        }
        match &self.signed {
            Some(Ok(outcomes)) => {
                for o in outcomes {
                    let said = match &o.error {
                        None => o.state.said_of(o.id),
                        Some(e) => tf(
                            "gui.a_signer_echec",
                            &[
                                ("id", &o.id.to_string()),
                                ("etat", &o.state.label()),
                                ("detail", e),
                            ],
                        ),
                    };
                    col = col.push(text(said).size(theme::TEXT));
                    for f in &o.findings {
                        col = col.push(text(format!("    {}", f.message)).size(theme::SMALL));
                    }
                }
            }
            Some(Err(e)) => {
                col = col
                    .push(text(tf("gui.a_signer_rien_signe", &[("detail", e)])).size(theme::TEXT));
            }
            None => {}
        }
        col.into()
    }

    /// The lot: a file path, « Exporter » the items listed, « Importer » a lot from elsewhere.
    fn lot_bar(&self) -> Element<'_, Message> {
        let ready = !self.busy && !self.lot.trim().is_empty();
        // The field on its own line: its example path is read whole, the buttons stay visible.
        let field = text_input(&t("gui.envois_lot_fichier"), &self.lot)
            .on_input(Message::LotPath)
            .width(Length::Fill);
        let buttons = row![
            button(text(t("gui.parcourir")))
                .on_press_maybe((!self.busy).then(|| Message::Browse(Request::open(Kind::Lot)))),
            button(text(t("gui.envois_lot_enregistrer_sous"))).on_press_maybe(
                (!self.busy && !self.items.is_empty())
                    .then(|| Message::Browse(Request::save(Kind::Lot)))
            ),
            button(text(tf(
                "gui.envois_lot_exporter",
                &[("n", &self.items.len().to_string())]
            )))
            .on_press_maybe((ready && !self.items.is_empty()).then_some(Message::ExportLot)),
            button(text(t("gui.envois_lot_importer")))
                .on_press_maybe(ready.then_some(Message::ImportLot)),
        ]
        .spacing(theme::GAP);
        let bar = column![field, buttons].spacing(theme::GAP);
        if self.lot_unsigned.is_some() {
            // Refused as it stands; accepting it is a decision, said with its risk.
            return column![
                bar,
                text(t("envois.lot_non_signe")),
                text(t("gui.envois_lot_non_signe_main_propre")),
                row![
                    button(text(t("gui.envois_lot_accepter_non_signe")))
                        .on_press_maybe((!self.busy).then_some(Message::AcceptUnsignedLot)),
                    button(text(t("gui.envois_lot_annuler"))).on_press(Message::CancelImport),
                ]
                .spacing(theme::GAP),
            ]
            .spacing(theme::GAP)
            .into();
        }
        let Some((_, said, _)) = &self.lot_checked else {
            return bar.into();
        };
        // Who prepared and signed the lot, read before saying yes.
        column![
            bar,
            text(said.clone()),
            row![
                button(text(t("gui.envois_lot_confirmer")))
                    .on_press_maybe((!self.busy).then_some(Message::ConfirmImport)),
                button(text(t("gui.envois_lot_annuler"))).on_press(Message::CancelImport),
            ]
            .spacing(theme::GAP),
        ]
        .spacing(theme::GAP)
        .into()
    }

    /// The collectivité column's width: room only when several collectivités are set.
    fn collectivite_width(&self) -> Length {
        if self.collectivites.is_empty() {
            Length::Shrink
        } else {
            Length::FillPortion(2)
        }
    }

    /// The list's column headers, aligned with its rows: a click orders the list by the
    /// column, a second the other way round; the column in use shows ▲ (ascending) or ▼.
    fn list_header(&self) -> Element<'_, Message> {
        let heading = |key: &str, tri: Tri, width: Length| -> Element<'_, Message> {
            let mut label = t(key);
            if self.tri == tri {
                label.push_str(if self.croissant { " ▲" } else { " ▼" });
            }
            button(text(label).size(theme::SMALL).font(iced::Font {
                weight: iced::font::Weight::Bold,
                ..Default::default()
            }))
            .on_press(Message::SortBy(tri))
            .style(button::text)
            .padding(0)
            .width(width)
            .into()
        };
        let collectivite = if self.collectivites.is_empty() {
            text("").width(Length::Shrink).into()
        } else {
            heading(
                "gui.envois_col_collectivite",
                Tri::Collectivite,
                self.collectivite_width(),
            )
        };
        row![
            heading(
                "gui.envois_col_objet",
                Tri::Objet,
                Length::FillPortion(OBJET)
            ),
            heading(
                "gui.envois_col_numero",
                Tri::Numero,
                Length::FillPortion(NUMERO)
            ),
            collectivite,
            heading("gui.envois_col_etat", Tri::Etat, Length::FillPortion(ETAT)),
            heading(
                "gui.envois_col_modifie",
                Tri::Modification,
                Length::FillPortion(DATE)
            ),
        ]
        .spacing(theme::GAP)
        .into()
    }

    /// The collectivité filter, when several are set: « Toutes les collectivités » or one.
    pub(super) fn collectivite_filter(&self) -> Option<Element<'_, Message>> {
        if self.collectivites.is_empty() {
            return None;
        }
        let choices: Vec<Choix<CollectiviteChoix>> = std::iter::once(Choix::Tous)
            .chain(self.collectivites.iter().map(|(siren, nom)| {
                Choix::Un(CollectiviteChoix {
                    siren: siren.clone(),
                    nom: nom.clone(),
                })
            }))
            .collect();
        let selected = match &self.collectivite {
            None => Choix::Tous,
            Some(siren) => Choix::Un(CollectiviteChoix {
                siren: siren.clone(),
                nom: self
                    .collectivites
                    .get(siren)
                    .cloned()
                    .unwrap_or_else(|| siren.clone()),
            }),
        };
        Some(iced::widget::pick_list(choices, Some(selected), Message::FilterCollectivite).into())
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut col = column![
            text(t("gui.envois_titre")).size(theme::TITLE),
            self.send_bar()
        ]
        .spacing(theme::GAP);
        if let Some(e) = &self.error {
            col = col.push(text(e.clone()));
        }
        match &self.action {
            Some(Ok(m)) | Some(Err(m)) => col = col.push(text(m.clone()).size(theme::TEXT)),
            None => {}
        }
        match &self.detail {
            Some(Ok(detail)) => {
                let id = detail.item.id;
                // The answer being written comes first, where the eye is.
                if let Some(form) = &self.reply {
                    col = col.push(reply_view(form));
                }
                col = col.push(self.item_actions(&detail.item));
                col = col.push(crate::gui::screen::envoi_detail::view(
                    detail,
                    move |i| Message::OpenReceived(id, i),
                    Message::ReplyTo,
                    Message::CloseDetail,
                ));
                match &self.opened {
                    Some(Ok(m)) | Some(Err(m)) => {
                        col = col.push(text(m.clone()).size(theme::SMALL))
                    }
                    None => {}
                }
                let nav = row![button(text(t("gui.fermer"))).on_press(Message::CloseDetail)];
                return column![scrollable(col).height(Length::Fill), nav]
                    .spacing(theme::GAP)
                    .into();
            }
            Some(Err(e)) => col = col.push(text(e.clone()).size(theme::TEXT)),
            None => {}
        }
        let genres = vec![
            Choix::Tous,
            Choix::Un(crate::outbox::Kind::Acte),
            Choix::Un(crate::outbox::Kind::Pes),
        ];
        let etats: Vec<Choix<ItemState>> = std::iter::once(Choix::Tous)
            .chain(ItemState::ALL.into_iter().map(Choix::Un))
            .collect();
        col = col.push(
            text_input(&t("gui.envois_chercher"), &self.chercher)
                .id(SEARCH_ID)
                .on_input(Message::FilterText)
                .width(Length::Fill),
        );
        col = col.push(
            row![
                iced::widget::pick_list(
                    genres,
                    Some(self.genre.map_or(Choix::Tous, Choix::Un)),
                    Message::FilterKind
                ),
                iced::widget::pick_list(
                    etats,
                    Some(self.etat.map_or(Choix::Tous, Choix::Un)),
                    Message::FilterState
                ),
                text(t("gui.envois_du")).size(theme::TEXT),
                text_input(&t("gui.format_date"), &self.du)
                    .on_input(Message::FilterFrom)
                    .width(130),
                text(t("gui.envois_au")).size(theme::TEXT),
                text_input(&t("gui.format_date"), &self.au)
                    .on_input(Message::FilterTo)
                    .width(130),
            ]
            .push(
                self.collectivite_filter()
                    .unwrap_or_else(|| text("").into()),
            )
            .spacing(theme::GAP)
            .align_y(iced::Alignment::Center),
        );
        if let Err(e) = self.filter() {
            col = col.push(text(e).size(theme::SMALL));
        }
        if !self.to_sign.is_empty() || self.signed.is_some() {
            col = col.push(self.to_sign_block());
        }
        col = col.push(self.lot_bar());
        if self.copies > 0 {
            col = col.push(
                text(tf(
                    "envois.espace_copies",
                    &[("taille", &crate::actes::messages::human_size(self.copies))],
                ))
                .size(theme::SMALL),
            );
        }
        if self.items.is_empty() {
            col = col.push(text(t("gui.envois_vide")).size(theme::TEXT));
        }
        if !self.items.is_empty() {
            col = col.push(self.list_header());
        }
        for item in &self.items {
            col = col.push(
                row![
                    button(text(item.libelle.clone()).size(theme::TEXT))
                        .on_press(Message::Select(item.id))
                        .style(button::text)
                        .padding(0)
                        .width(Length::FillPortion(OBJET)),
                    text(item.numero_interne.clone().unwrap_or_default())
                        .width(Length::FillPortion(NUMERO))
                        .size(theme::TEXT),
                    text(self.collectivite_of(item))
                        .width(self.collectivite_width())
                        .size(theme::SMALL),
                    iced::widget::container(state_chip(item)).width(Length::FillPortion(ETAT)),
                    text(theme::french_datetime(&item.modifie_le))
                        .width(Length::FillPortion(DATE))
                        .size(theme::SMALL),
                ]
                .spacing(theme::GAP),
            );
        }
        let nav = row![
            button(text(t("gui.precedent")))
                .on_press_maybe((self.page > 0).then(|| Message::Page(self.page - 1))),
            text(tf("gui.page", &[("n", &(self.page + 1).to_string())])),
            button(text(t("gui.suivant")))
                .on_press_maybe((self.items.len() == PAGE).then(|| Message::Page(self.page + 1))),
        ]
        .spacing(theme::GAP);
        column![scrollable(col).height(Length::Fill), nav]
            .spacing(theme::GAP)
            .into()
    }
}

/// The item's state as a chip: icon, word, colours (« transmis, à rattacher » for a PES to attach).
pub(super) fn state_chip<'a>(item: &Item) -> Element<'a, Message> {
    let (tone, icon) = theme::state_look(item.etat, item.awaits_attachment());
    theme::chip(tone, icon, item.state_label())
}
