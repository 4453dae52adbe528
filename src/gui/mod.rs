//! The window (iced). Screens are thin: they send messages and show results; card, disk and
//! network work runs on worker threads through [`background`], never on the UI thread.

pub mod files;
pub mod screen;
mod theme;

use crate::messages::t;
use iced::widget::{button, column, container, row, text};
use iced::{Element, Length, Task};
use screen::{certificats, envois, helios};

/// Run blocking library work on its own thread; the UI awaits the result without freezing.
pub(crate) fn background<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> impl std::future::Future<Output = Option<T>> {
    let (tx, rx) = iced::futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        // The receiver may be gone if the window closed: nothing to do then.
        let _ = tx.send(work());
    });
    async move { rx.await.ok() }
}

/// A PIN or a password as typed in a field: wiped when dropped, and never shown by `Debug`
/// (messages are `Debug`; a PIN must not end up in a log or a panic message).
#[derive(Clone, Default)]
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    /// The text, for handing to the card or the platform.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_zeroizing(self) -> zeroize::Zeroizing<String> {
        self.0
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Secret(zeroize::Zeroizing::new(text))
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Secret(zeroize::Zeroizing::new(text.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The desktop's viewer for a file (a separate process: the window does not wait for it).
/// `PARAPHE_OUVRIR` names another program to hand files to (a kiosk's viewer; the tests).
pub(crate) fn open_with_system(path: &std::path::Path) -> Result<(), String> {
    let mut command = if let Some(viewer) = std::env::var_os("PARAPHE_OUVRIR") {
        std::process::Command::new(viewer)
    } else if cfg!(windows) {
        let mut c = std::process::Command::new("cmd");
        c.args(["/C", "start", ""]);
        c
    } else if cfg!(target_os = "macos") {
        std::process::Command::new("open")
    } else {
        std::process::Command::new("xdg-open")
    };
    let mut viewer = command.arg(path).spawn().map_err(|e| {
        crate::messages::tf(
            "gui.envoi_ouverture_impossible",
            &[("detail", &e.to_string())],
        )
    })?;
    // Reaped when it ends, so that no zombie is left behind.
    std::thread::spawn(move || viewer.wait());
    Ok(())
}

/// What the window says once a document was handed to the viewer (or why not).
pub(crate) fn opened_message(
    result: Option<Result<std::path::PathBuf, String>>,
) -> Result<String, String> {
    match result {
        Some(Ok(path)) => Ok(crate::messages::tf(
            "gui.envoi_document_ouvert",
            &[("chemin", &path.display().to_string())],
        )),
        Some(Err(e)) => Err(e),
        None => Err(crate::messages::t("gui.envoi_interrompu")),
    }
}

/// The platform client for what a screen does (off the UI thread): the card's authentication
/// key chosen in the settings — or the demonstration identity and platform — with the PIN and
/// the platform password typed in the window, both wiped once handed over.
pub(crate) fn connect_platform(
    settings: &crate::settings::Settings,
    pin: zeroize::Zeroizing<String>,
    password: zeroize::Zeroizing<String>,
    demo: Option<crate::platform::demo::Demo>,
) -> Result<Box<dyn crate::platform::Platform>, String> {
    let mut choice = crate::card::select::KeyChoice::from_settings(
        &settings.carte,
        crate::certs::Role::Authentification,
    );
    // The password is only asked when the settings name a login.
    let prompt = crate::card::pin::FixedPrompt::new(&pin).with_platform_password(&password);
    drop((pin, password));
    let (address, ca) = match demo {
        Some(d) => {
            choice.p12 = Some(d.p12);
            (Some(d.adresse), Some(d.ca))
        }
        None => (None, None),
    };
    crate::platform::connect(settings, address, ca, &choice, Box::new(prompt))
        .map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Screen {
    #[default]
    Accueil,
    Actes,
    Helios,
    Envois,
    Marches,
    Dce,
    Certificats,
    Parametres,
    Aide,
}

/// What `PARAPHE_MESURE` asks for (scripts/bench-app.sh): the time to the first frame, or the
/// time to show the summary of the PES given in `PARAPHE_PES`; printed, then the window closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Measure {
    #[default]
    None,
    FirstFrame,
    Summary,
}

/// When the program started (for `PARAPHE_MESURE`).
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

#[derive(Default)]
struct Paraphe {
    screen: Screen,
    measure: Measure,
    /// When the PES given at start was asked to open.
    opening_since: Option<std::time::Instant>,
    demo: screen::accueil::DemoStatus,
    actes: screen::actes::State,
    helios: helios::State,
    certificats: certificats::State,
    envois: envois::State,
    marches: screen::marches::State,
    dce: screen::dce::State,
    parametres: screen::parametres::State,
    aide: screen::aide::State,
    /// The collectivités set on this workstation (the first is the current one): the sidebar
    /// offers the switch when there are several.
    collectivites: Vec<CollectiviteChoice>,
}

/// A collectivité as the sidebar offers it: its label, chosen by its SIREN (or name).
#[derive(Debug, Clone, PartialEq, Eq)]
struct CollectiviteChoice {
    label: String,
    key: String,
}

impl std::fmt::Display for CollectiviteChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

/// The collectivités set, the current one first (off the UI thread).
fn read_collectivites() -> Result<Vec<CollectiviteChoice>, String> {
    let settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    Ok(settings
        .collectivites_reglees()
        .into_iter()
        .map(|c| CollectiviteChoice {
            // The name alone fits the sidebar (the SIREN is in Paramètres and on every act).
            label: c.short_name(),
            key: c
                .siren
                .clone()
                .or_else(|| c.nom.clone())
                .unwrap_or_default(),
        })
        .collect())
}

/// Make `key` the current collectivité in the settings file, then read the list again.
fn switch_collectivite(key: &str) -> Result<Vec<CollectiviteChoice>, String> {
    let mut settings = crate::settings::Settings::load().map_err(|e| e.to_string())?;
    settings.make_current(key).map_err(|e| e.to_string())?;
    settings.save().map_err(|e| e.to_string())?;
    read_collectivites()
}

#[derive(Debug, Clone)]
enum Message {
    Show(Screen),
    Actes(screen::actes::Message),
    Helios(helios::Message),
    Certificats(certificats::Message),
    Envois(envois::Message),
    Marches(screen::marches::Message),
    Dce(screen::dce::Message),
    Parametres(screen::parametres::Message),
    StartDemo,
    /// The demonstration platform started, with the sample PES written for Hélios.
    DemoReady(Option<Result<(crate::platform::demo::Demo, std::path::PathBuf), String>>),
    FirstFrame,
    /// Escape: the open dialog or detail of the screen shown closes.
    Escape,
    /// Tab and Shift+Tab: the next or previous field takes the keyboard.
    FocusNext,
    FocusPrevious,
    /// The collectivités set, read (or read again after a switch).
    Collectivites(Option<Result<Vec<CollectiviteChoice>, String>>),
    /// Work for another collectivité from now on.
    SwitchCollectivite(CollectiviteChoice),
}

/// Start the demonstration platform, queue a sample act and write a sample PES to sign, off the
/// UI thread.
fn start_demo() -> Task<Message> {
    Task::perform(
        background(|| {
            let data_dir = crate::settings::data_dir().map_err(|e| e.to_string())?;
            let demo = crate::platform::demo::start(&data_dir).map_err(|e| e.to_string())?;
            let mut outbox = crate::outbox::Outbox::open_default().map_err(|e| e.to_string())?;
            crate::platform::demo::queue_sample_act(&demo, &mut outbox)
                .map_err(|e| e.to_string())?;
            let pes = crate::platform::demo::write_sample_pes(&demo).map_err(|e| e.to_string())?;
            Ok((demo, pes))
        }),
        Message::DemoReady,
    )
}

/// What a key no widget took does: Escape closes what is open, Tab and Shift+Tab move between
/// fields, F1 opens the help.
fn key_message(event: iced::keyboard::Event) -> Option<Message> {
    use iced::keyboard::key::Named;
    let iced::keyboard::Event::KeyPressed {
        key: iced::keyboard::Key::Named(named),
        modifiers,
        ..
    } = event
    else {
        return None;
    };
    match named {
        Named::Escape => Some(Message::Escape),
        Named::Tab if modifiers.shift() => Some(Message::FocusPrevious),
        Named::Tab => Some(Message::FocusNext),
        Named::F1 => Some(Message::Show(Screen::Aide)),
        _ => None,
    }
}

impl Paraphe {
    fn boot() -> (Self, Task<Message>) {
        let mut app = Paraphe {
            measure: match std::env::var("PARAPHE_MESURE").as_deref() {
                Ok("premiere-image") => Measure::FirstFrame,
                Ok("resume") => Measure::Summary,
                _ => Measure::None,
            },
            ..Paraphe::default()
        };
        // The home screen needs the outbox counts and the certificates: fetch both off-thread.
        let mut tasks = vec![
            envois::refresh().map(Message::Envois),
            certificats::scan().map(Message::Certificats),
            app.parametres
                .update(screen::parametres::Message::Load)
                .map(Message::Parametres),
            Task::perform(background(read_collectivites), Message::Collectivites),
        ];
        // For screenshots, demos and support: start on a given screen, with a PES already open.
        app.screen = match std::env::var("PARAPHE_ECRAN").as_deref() {
            Ok("helios") => Screen::Helios,
            Ok("actes") => Screen::Actes,
            Ok("envois") => Screen::Envois,
            Ok("certificats") => Screen::Certificats,
            Ok("marches") => Screen::Marches,
            Ok("dce") => Screen::Dce,
            Ok("parametres") => Screen::Parametres,
            Ok("aide") => Screen::Aide,
            _ => Screen::Accueil,
        };
        if let Ok(path) = std::env::var("PARAPHE_PES") {
            app.opening_since = Some(std::time::Instant::now());
            let _ = app.helios.update(helios::Message::PathChanged(path));
            tasks.push(
                app.helios
                    .update(helios::Message::Open)
                    .map(Message::Helios),
            );
        }
        // The act form reads its classification when shown; at start only if it is the screen.
        if app.screen == Screen::Actes {
            tasks.push(
                app.actes
                    .update(screen::actes::Message::Load)
                    .map(Message::Actes),
            );
        }
        (app, Task::batch(tasks))
    }

    fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Show(screen) => {
                self.screen = screen;
                match screen {
                    Screen::Envois | Screen::Accueil => envois::refresh().map(Message::Envois),
                    Screen::Parametres => self
                        .parametres
                        .update(screen::parametres::Message::Load)
                        .map(Message::Parametres),
                    // The classification may have been downloaded or imported meanwhile.
                    Screen::Actes => self
                        .actes
                        .update(screen::actes::Message::Load)
                        .map(Message::Actes),
                    _ => Task::none(),
                }
            }
            Message::Actes(m) => {
                let queued = matches!(m, screen::actes::Message::Queued(Some(Ok(_))));
                let task = self.actes.update(m).map(Message::Actes);
                if queued && self.actes.take_send_after() {
                    // « Télétransmettre »: the act is in the outbox; Envois sends it (PIN there).
                    self.screen = Screen::Envois;
                    return Task::batch([task, envois::refresh().map(Message::Envois)]);
                }
                task
            }
            Message::Helios(m) => {
                let opened = matches!(m, helios::Message::Opened(_));
                let task = self.helios.update(m).map(Message::Helios);
                if opened
                    && self.measure == Measure::Summary
                    && let Some(since) = self.opening_since.take()
                {
                    println!("resume_ms={:.1}", since.elapsed().as_secs_f64() * 1000.0);
                    return iced::exit();
                }
                task
            }
            Message::FirstFrame => {
                if self.measure == Measure::FirstFrame {
                    let started = STARTED.get_or_init(std::time::Instant::now);
                    println!(
                        "premiere_image_ms={:.1}",
                        started.elapsed().as_secs_f64() * 1000.0
                    );
                    return iced::exit();
                }
                Task::none()
            }
            Message::Collectivites(Some(Ok(list))) => {
                let switched = self.collectivites.first().map(|c| &c.key)
                    != list.first().map(|c| &c.key)
                    && !self.collectivites.is_empty();
                self.collectivites = list;
                if !switched {
                    return Task::none();
                }
                // Everything shown was the previous collectivité's: read again.
                Task::batch([
                    envois::refresh().map(Message::Envois),
                    self.parametres
                        .update(screen::parametres::Message::Load)
                        .map(Message::Parametres),
                    self.actes
                        .update(screen::actes::Message::Load)
                        .map(Message::Actes),
                ])
            }
            Message::Collectivites(_) => Task::none(),
            Message::SwitchCollectivite(choice) => Task::perform(
                background(move || switch_collectivite(&choice.key)),
                Message::Collectivites,
            ),
            Message::FocusNext => iced::widget::operation::focus_next(),
            Message::FocusPrevious => iced::widget::operation::focus_previous(),
            Message::Escape => match self.screen {
                Screen::Envois => self.envois.escape().map(Message::Envois),
                Screen::Helios => self.helios.escape().map(Message::Helios),
                _ => Task::none(),
            },
            Message::Certificats(m) => self.certificats.update(m).map(Message::Certificats),
            Message::Envois(m) => self.envois.update(m).map(Message::Envois),
            Message::Marches(m) => self.marches.update(m).map(Message::Marches),
            Message::Dce(m) => self.dce.update(m).map(Message::Dce),
            Message::Parametres(m) => self.parametres.update(m).map(Message::Parametres),
            Message::StartDemo => {
                self.demo = screen::accueil::DemoStatus::Starting;
                start_demo()
            }
            Message::DemoReady(Some(Ok((demo, pes)))) => {
                self.envois.set_demo(demo.clone());
                self.helios.set_demo(&demo, pes);
                self.demo = screen::accueil::DemoStatus::Ready(demo);
                envois::refresh().map(Message::Envois)
            }
            Message::DemoReady(result) => {
                let error = match result {
                    Some(Err(e)) => e,
                    _ => t("demo.pas_de_reponse"),
                };
                self.demo = screen::accueil::DemoStatus::Failed(error);
                Task::none()
            }
        }
    }

    fn subscription(&self) -> iced::Subscription<Message> {
        iced::Subscription::batch([
            self.envois.subscription().map(Message::Envois),
            self.helios.subscription().map(Message::Helios),
            self.marches.subscription().map(Message::Marches),
            if self.measure == Measure::FirstFrame {
                iced::window::frames().map(|_| Message::FirstFrame)
            } else {
                iced::Subscription::none()
            },
            // Escape closes what is open, Tab moves between fields, F1 opens the help (keypresses
            // no widget took).
            iced::keyboard::listen().filter_map(key_message),
            // A file dropped on the window goes to the act form when it is shown.
            if self.screen == Screen::Actes {
                iced::event::listen_with(|event, _status, _window| match event {
                    iced::Event::Window(iced::window::Event::FileDropped(path)) => {
                        Some(screen::actes::Message::Dropped(path))
                    }
                    _ => None,
                })
                .map(Message::Actes)
            } else {
                iced::Subscription::none()
            },
        ])
    }

    fn view(&self) -> Element<'_, Message> {
        let nav = |label: &str, screen: Screen| {
            let b = button(text(t(label)).size(theme::TEXT))
                .width(Length::Fill)
                .padding(theme::PAD);
            let b = b.on_press(Message::Show(screen));
            if self.screen == screen {
                b.style(button::primary)
            } else {
                b.style(button::text)
            }
        };
        // Several collectivités: which one the window works for, switched in one click.
        let current: Element<'_, Message> = match self.collectivites.as_slice() {
            [first, _, ..] => column![
                text(t("gui.collectivite_courante")).size(theme::SMALL),
                iced::widget::pick_list(
                    self.collectivites.clone(),
                    Some(first.clone()),
                    Message::SwitchCollectivite,
                )
                .text_size(theme::SMALL)
                .width(Length::Fill),
            ]
            .spacing(theme::GAP / 2.0)
            .into(),
            _ => column![].into(),
        };
        let sidebar = container(
            column![
                text(t("application.titre")).size(theme::TITLE),
                current,
                nav("gui.nav_accueil", Screen::Accueil),
                nav("gui.nav_actes", Screen::Actes),
                nav("gui.nav_helios", Screen::Helios),
                nav("gui.nav_envois", Screen::Envois),
                nav("gui.nav_marches", Screen::Marches),
                nav("gui.nav_dce", Screen::Dce),
                nav("gui.nav_certificats", Screen::Certificats),
                nav("gui.nav_parametres", Screen::Parametres),
                nav("gui.nav_aide", Screen::Aide),
            ]
            .spacing(theme::GAP),
        )
        .width(220)
        .height(Length::Fill)
        .padding(theme::PAD)
        .style(container::rounded_box);
        let content: Element<'_, Message> = match self.screen {
            Screen::Accueil => screen::accueil::view(
                &self.envois,
                &self.certificats,
                &self.demo,
                self.parametres.setup_gaps(),
                Message::StartDemo,
                Message::Show(Screen::Parametres),
            ),
            Screen::Actes => self.actes.view().map(Message::Actes),
            Screen::Helios => self.helios.view().map(Message::Helios),
            Screen::Envois => self.envois.view().map(Message::Envois),
            Screen::Marches => self.marches.view().map(Message::Marches),
            Screen::Dce => self.dce.view().map(Message::Dce),
            Screen::Certificats => self.certificats.view().map(Message::Certificats),
            Screen::Parametres => self.parametres.view().map(Message::Parametres),
            Screen::Aide => self.aide.view(Message::Show(Screen::Aide)),
        };
        row![
            sidebar,
            container(content)
                .padding(theme::PAD * 2.0)
                .width(Length::Fill)
                .height(Length::Fill)
        ]
        .into()
    }
}

/// Whether a graphical session is there to show the window in. On Linux and the BSDs the toolkit
/// needs an X11 or Wayland display named in the environment; without one it panics in English
/// deep inside (« neither WAYLAND_DISPLAY nor … is set »). Windows and macOS always have one.
pub fn display_available() -> bool {
    if cfg!(any(windows, target_os = "macos")) {
        return true;
    }
    ["DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// Open the window and run it until it is closed, saying in French why it could not open: no
/// graphical session, a display that refuses the connection, no usable graphics. The toolkit's
/// own words (English, technical) go to the journal, not to the person.
pub fn open() -> Result<(), String> {
    if !display_available() {
        return Err(t("application.sans_ecran"));
    }
    // The toolkit panics when the display named is not there (an X server gone, a DISPLAY
    // copied from another session): caught, journalled, said in French.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        tracing::error!("la fenêtre s'est arrêtée : {info}");
    }));
    let outcome = std::panic::catch_unwind(run);
    std::panic::set_hook(previous);
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::error!("la fenêtre n'a pas pu s'ouvrir : {e}");
            Err(t("application.fenetre_impossible"))
        }
        Err(_) => Err(t("application.fenetre_impossible")),
    }
}

pub fn run() -> iced::Result {
    STARTED.get_or_init(std::time::Instant::now);
    iced::application(Paraphe::boot, Paraphe::update, Paraphe::view)
        .title(|_: &Paraphe| t("application.titre"))
        .subscription(Paraphe::subscription)
        .window(iced::window::Settings {
            size: iced::Size::new(1280.0, 800.0),
            min_size: Some(iced::Size::new(1024.0, 640.0)),
            icon: window_icon(),
            ..Default::default()
        })
        .run()
}

/// The window's icon: `assets/paraphe-64.png`, drawn from `packaging/paraphe.svg`.
fn window_icon() -> Option<iced::window::Icon> {
    let decoder = png::Decoder::new(std::io::Cursor::new(
        include_bytes!("../../assets/paraphe-64.png").as_slice(),
    ));
    let mut reader = decoder.read_info().ok()?;
    let mut rgba = vec![0; reader.output_buffer_size()?];
    let frame = reader.next_frame(&mut rgba).ok()?;
    if frame.color_type != png::ColorType::Rgba || frame.bit_depth != png::BitDepth::Eight {
        return None;
    }
    rgba.truncate(frame.buffer_size());
    iced::window::icon::from_rgba(rgba, frame.width, frame.height).ok()
}

#[cfg(test)]
mod tests {
    //! The window's main paths in iced's headless simulator: what the user sees, and the
    //! messages their clicks and keys produce.
    use super::*;
    use iced_test::simulator;

    fn sample(name: &str) -> Option<std::path::PathBuf> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/conformance/pes/samples")
            .join(name);
        if path.is_file() {
            Some(path)
        } else if std::env::var_os("CI").is_some() {
            panic!("../shared/conformance is missing: CI must have it");
        } else {
            eprintln!("SKIPPED: ../shared/conformance is missing");
            None
        }
    }

    /// With several collectivités set, the sidebar says which one the window works for (the
    /// switch itself is `Settings::make_current`, tested in settings.rs); with one, it says
    /// nothing (nothing to choose).
    #[test]
    fn the_sidebar_offers_the_collectivite_switch_when_there_are_several() {
        let choice = |label: &str, key: &str| CollectiviteChoice {
            label: label.to_owned(),
            key: key.to_owned(),
        };
        let mut app = Paraphe {
            collectivites: vec![choice("Fontvieille (211300397)", "211300397")],
            ..Paraphe::default()
        };
        {
            let mut ui = simulator(app.view());
            assert!(ui.find(t("gui.collectivite_courante").as_str()).is_err());
        }
        app.collectivites
            .push(choice("Paradou (211300686)", "211300686"));
        {
            let mut ui = simulator(app.view());
            ui.find(t("gui.collectivite_courante").as_str())
                .expect("the switch's label");
        }
        // The switch saved: the list read again, Paradou first — the window's current one.
        let _ = app.update(Message::Collectivites(Some(Ok(vec![
            choice("Paradou (211300686)", "211300686"),
            choice("Fontvieille (211300397)", "211300397"),
        ]))));
        assert_eq!(app.collectivites[0].key, "211300686");
    }

    /// F1 and the sidebar's « Aide (F1) » open the help, which shows the README's sections for
    /// the person at the desk (issue 22).
    #[test]
    fn f1_and_the_sidebar_open_the_help() {
        let f1 = iced::keyboard::Event::KeyPressed {
            key: iced::keyboard::Key::Named(iced::keyboard::key::Named::F1),
            modified_key: iced::keyboard::Key::Named(iced::keyboard::key::Named::F1),
            physical_key: iced::keyboard::key::Physical::Unidentified(
                iced::keyboard::key::NativeCode::Unidentified,
            ),
            location: iced::keyboard::Location::Standard,
            modifiers: iced::keyboard::Modifiers::empty(),
            text: None,
            repeat: false,
        };
        assert!(matches!(key_message(f1), Some(Message::Show(Screen::Aide))));
        let mut app = Paraphe::default();
        {
            let mut ui = simulator(app.view());
            ui.click(t("gui.nav_aide").as_str()).expect("Aide button");
            assert!(
                ui.into_messages()
                    .any(|m| matches!(m, Message::Show(Screen::Aide)))
            );
        }
        let _ = app.update(Message::Show(Screen::Aide));
        assert_eq!(app.screen, Screen::Aide);
        // The README's text is drawn as rich text, which the simulator does not read: the
        // sections themselves are checked in `screen::aide`'s tests.
        let mut ui = simulator(app.view());
        ui.find(t("gui.aide_titre").as_str())
            .expect("the help's title");
        ui.find(t("gui.aide_intro").as_str())
            .expect("the help's intro");
    }

    /// Hélios, Marchés and Envois ask the system's dialog for what each field takes (issue 22);
    /// a PES chosen is opened at once.
    #[test]
    fn parcourir_asks_for_the_right_kind_of_file() {
        use crate::gui::files::{Kind, Request};
        let asked = |messages: Vec<Option<Request>>| -> Vec<Request> {
            messages.into_iter().flatten().collect()
        };
        let mut helios = helios::State::default();
        {
            let mut ui = simulator(helios.view());
            ui.click(t("gui.parcourir").as_str()).expect("Parcourir…");
            let got = asked(
                ui.into_messages()
                    .map(|m| match m {
                        helios::Message::Browse(r) => Some(r),
                        _ => None,
                    })
                    .collect(),
            );
            assert_eq!(got, vec![Request::open(Kind::Pes)]);
        }
        let _ = helios.update(helios::Message::Chosen(vec!["/tmp/absent-pes.xml".into()]));
        {
            let mut ui = simulator(helios.view());
            ui.find(t("gui.ouverture").as_str())
                .expect("the PES chosen is being opened");
        }
        let marches = screen::marches::State::default();
        let mut ui = simulator(marches.view());
        ui.click(t("gui.marches_choisir_pli").as_str())
            .expect("pli");
        ui.click(t("gui.marches_choisir_dossier_plis").as_str())
            .expect("dossier");
        ui.click(t("gui.parcourir").as_str()).expect("sortie");
        let got: Vec<_> = ui
            .into_messages()
            .filter_map(|m| match m {
                screen::marches::Message::Browse(c, r) => Some((c, r)),
                _ => None,
            })
            .collect();
        use screen::marches::Chemin;
        assert_eq!(
            got,
            vec![
                (Chemin::Entree, Request::open(Kind::Pli)),
                (Chemin::Entree, Request::folder()),
                (Chemin::Sortie, Request::folder()),
            ]
        );
        let mut envois = envois::State::default();
        {
            let mut ui = simulator(envois.view());
            ui.click(t("gui.parcourir").as_str()).expect("lot");
            assert!(
                ui.into_messages().any(
                    |m| matches!(m, envois::Message::Browse(r) if r == Request::open(Kind::Lot))
                )
            );
        }
        let _ = envois.update(envois::Message::Chosen(
            Kind::Lot,
            vec!["/tmp/lot.zip".into()],
        ));
        let mut ui = simulator(envois.view());
        ui.find("/tmp/lot.zip")
            .expect("the lot's path in its field");
    }

    #[test]
    fn navigation_buttons_send_the_screen_to_show() {
        let app = Paraphe::default();
        let mut ui = simulator(app.view());
        ui.click(t("gui.nav_envois").as_str())
            .expect("Envois button");
        ui.click(t("gui.nav_helios").as_str())
            .expect("Hélios button");
        let shown: Vec<Screen> = ui
            .into_messages()
            .filter_map(|m| match m {
                Message::Show(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(shown, vec![Screen::Envois, Screen::Helios]);
    }

    #[test]
    fn helios_path_typed_then_enter_opens_the_file() {
        let mut state = helios::State::default();
        let mut ui = simulator(state.view());
        ui.click(t("gui.helios_chemin").as_str())
            .expect("path field");
        ui.typewrite("/tmp/pes.xml");
        ui.tap_key(iced::keyboard::key::Named::Enter);
        let messages: Vec<helios::Message> = ui.into_messages().collect();
        assert!(
            matches!(messages.last(), Some(helios::Message::Open)),
            "{messages:?}"
        );
        for m in messages {
            if let helios::Message::PathChanged(_) = &m {
                let _ = state.update(m);
            }
        }
        assert!(state.path().ends_with("pes.xml"));
    }

    #[test]
    fn helios_shows_each_bordereau_with_declared_and_computed_amounts() {
        let Some(path) = sample("pes_aller_ok.xml") else {
            return;
        };
        let summary = crate::pes::inspect_file(&path).expect("summary");
        let findings =
            crate::pes::checks::check(&summary, crate::pes::checks::Intent::SignBordereaux);
        let mut state = helios::State::default();
        let _ = state.update(helios::Message::Opened(Some(Ok((
            std::sync::Arc::new(summary),
            findings,
        )))));
        let mut ui = simulator(state.view());
        ui.find("bordereau n° 12345 (exercice 2009, Id BORD1093357910)")
            .expect("bordereau row");
        // Computed total with the declared one beside it (they differ in this sample).
        ui.find("39\u{202f}724,75 € (75\u{202f}724,75 €)")
            .expect("amounts in French");
        ui.find(t("gui.constats").as_str())
            .expect("findings heading");
    }

    /// A PES of two bordereaux (BX1, BX2) opened in the Hélios screen, reviewed, with who signs
    /// filled in and a PKCS#12 key (TEST identity) and its password: ready for "Signer".
    fn helios_ready_to_sign(dir: &std::path::Path) -> (helios::State, std::path::PathBuf) {
        use screen::signature::{Field, Message as Sig};
        let pes = dir.join("mandats.xml");
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<n:PES_Aller xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller\"><Enveloppe><Parametres><Version V=\"2\"/><TypFic V=\"PESALR2\"/><NomFic V=\"mandats\"/></Parametres><Emetteur><Sigle V=\"MAIRIE\"/><Adresse V=\"ESSAI\"/></Emetteur><Recepteur><Sigle V=\"HELIOS\"/><Adresse V=\"DGFIP\"/></Recepteur></Enveloppe><EnTetePES><DteStr V=\"2026-11-27\"/><IdPost V=\"034000\"/><IdColl V=\"21340172200016\"/><CodCol V=\"123\"/><CodBud V=\"12\"/><LibelleColBud V=\"COMMUNE\"/></EnTetePES><PES_DepenseAller><EnTeteDepense><IdVer V=\"2\"/><InfoDematerialisee V=\"1\"/></EnTeteDepense>",
        );
        for n in 1..=2 {
            xml.push_str(&format!(
                "<Bordereau Id=\"BX{n}\"><BlocBordereau><Exer V=\"2026\"/><IdBord V=\"{n}\"/><DteBordEm V=\"2026-11-27\"/><TypBord V=\"01\"/><NbrPce V=\"1\"/><MtBordHT V=\"10.00\"/></BlocBordereau><Piece><BlocPiece><InfoPce><IdPce V=\"1\"/><TypPce V=\"01\"/><NatPce V=\"01\"/><Obj V=\"Essai\"/></InfoPce></BlocPiece><LigneDePiece><BlocLignePiece><InfoLignePce><IdLigne V=\"1\"/><Nature V=\"6064\"/><Fonction V=\"020\"/><LibVir1 V=\"ESSAI\"/><ModRegl V=\"03\"/><TVAIntraCom V=\"0\"/><MtHT V=\"10.00\"/></InfoLignePce></BlocLignePiece><Tiers><InfoTiers><RefTiers V=\"1\"/><CatTiers V=\"01\"/><NatJur V=\"01\"/><Nom V=\"FOURNISSEUR\"/></InfoTiers><Adresse><TypAdr V=\"1\"/><Adr2 V=\"1 RUE\"/><CP V=\"34000\"/><Ville V=\"MONTPELLIER\"/><CodRes V=\"0\"/></Adresse></Tiers></LigneDePiece></Piece></Bordereau>"
            ));
        }
        xml.push_str("</PES_DepenseAller></n:PES_Aller>\n");
        std::fs::write(&pes, xml).expect("write pes");

        let mut state = helios::State::default();
        let _ = state.update(helios::Message::PathChanged(pes.display().to_string()));
        let _ = state.update(helios::Message::Open);
        let summary = crate::pes::inspect_file(&pes).expect("summary");
        let findings =
            crate::pes::checks::check(&summary, crate::pes::checks::Intent::SignBordereaux);
        assert!(
            !findings.iter().any(crate::findings::Finding::is_blocking),
            "{findings:?}"
        );
        let _ = state.update(helios::Message::Opened(Some(Ok((
            std::sync::Arc::new(summary),
            findings,
        )))));
        // The schema check (its own task) finds nothing in this file.
        let schema = crate::pes::control::schema_check(&pes, &crate::settings::Settings::default());
        assert!(
            !schema.iter().any(crate::findings::Finding::is_blocking),
            "{schema:?}"
        );
        let _ = state.update(helios::Message::SchemaChecked(pes.clone(), Some(schema)));
        let pki = pkcs11_mocks::TestPki::shared();
        for (field, value) in [
            (Field::Role, "Ordonnateur".to_owned()),
            (Field::Ville, "Montpellier".to_owned()),
            (Field::CodePostal, "34000".to_owned()),
            (
                Field::P12,
                pki.identity("signature").p12.display().to_string(),
            ),
        ] {
            let _ = state.update(helios::Message::Signature(Sig::Edit(field, value)));
        }
        let _ = state.update(helios::Message::Signature(Sig::Pin(
            pkcs11_mocks::P12_PASSWORD.into(),
        )));
        (state, pes)
    }

    /// What the person reviewed is what is signed: a file changed after it was opened is not
    /// signed, with the French reason, and nothing is written.
    #[test]
    fn helios_refuses_to_sign_a_file_changed_since_it_was_opened() {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut state, pes) = helios_ready_to_sign(dir.path());
        let changed =
            std::fs::read_to_string(&pes)
                .expect("read")
                .replacen("V=\"10.00\"", "V=\"90.00\"", 2);
        std::fs::write(&pes, changed).expect("write");
        let job = state.signing_job().expect("a job");
        let result = screen::signature::run(job, &crate::settings::Settings::default());
        assert_eq!(result.err(), Some(t("signature.fichier_modifie")));
        assert!(!dir.path().join("mandats-signe.xml").exists());
    }

    /// The main Hélios path: open a PES, fill who signs, "Signer" with a PKCS#12 key (TEST
    /// identity), progress and "Arrêter" while it runs, then every bordereau shown valid by the
    /// verifier and the signed file offered for sending.
    #[test]
    fn helios_signs_each_bordereau_with_a_p12_and_shows_them_valid() {
        use screen::signature::Message as Sig;
        let dir = tempfile::tempdir().expect("tmp");
        let (mut state, _) = helios_ready_to_sign(dir.path());
        let pki = pkcs11_mocks::TestPki::shared();
        {
            let mut ui = simulator(state.view());
            ui.click(t("gui.signer").as_str()).expect("Signer button");
            let messages: Vec<helios::Message> = ui.into_messages().collect();
            assert!(
                matches!(messages.last(), Some(helios::Message::Signature(Sig::Sign))),
                "{messages:?}"
            );
        }
        let job = state.signing_job().expect("a job");
        {
            let mut ui = simulator(state.view());
            ui.find(t("gui.arreter").as_str())
                .expect("Arrêter while signing");
            assert!(
                ui.find(t("gui.pin_signature").as_str()).is_err(),
                "no PIN field"
            );
        }
        let mut settings = crate::settings::Settings::default();
        settings.verification.confiance = Some(pki.ca_bundle_pem());
        let result = screen::signature::run(job, &settings);
        let _ = state.update(helios::Message::Signature(Sig::Done(Some(result))));
        let mut ui = simulator(state.view());
        ui.find(t("gui.signature_toutes_valides").as_str())
            .expect("every signature valid");
        for id in ["BX1", "BX2"] {
            ui.find(format!("{id} : {}", t("gui.signature_valide")).as_str())
                .expect("bordereau valid");
        }
        ui.find(t("gui.mettre_en_file").as_str())
            .expect("queue button");
        assert!(dir.path().join("mandats-signe.xml").is_file());
    }

    #[test]
    fn envois_sends_with_the_pin_typed_and_forgets_it() {
        let mut state = envois::State::default();
        let mut ui = simulator(state.view());
        ui.click(t("gui.pin_authentification").as_str())
            .expect("PIN field");
        ui.typewrite("1234");
        ui.click(t("gui.envoyer_maintenant").as_str())
            .expect("send button");
        let messages: Vec<envois::Message> = ui.into_messages().collect();
        assert!(
            matches!(messages.last(), Some(envois::Message::Send)),
            "{messages:?}"
        );
        let typed = messages.iter().rev().find_map(|m| match m {
            envois::Message::PinChanged(p) => Some(p.expose().to_owned()),
            _ => None,
        });
        assert_eq!(typed.as_deref(), Some("1234"));
        let _ = state.update(envois::Message::PinChanged("1234".into()));
        let _ = state.update(envois::Message::Send);
        // While it runs: no PIN kept, "Arrêter" offered instead of the field.
        let mut ui = simulator(state.view());
        ui.find(t("gui.arreter").as_str()).expect("stop button");
        assert!(ui.find(t("gui.pin_authentification").as_str()).is_err());
    }

    #[test]
    fn home_says_when_the_classification_needs_attention() {
        let mut app = Paraphe::default();
        let notice = crate::messages::tf(
            "gui.accueil_classification_ancienne",
            &[("date", "01/03/2019")],
        );
        let _ = app
            .envois
            .update(envois::Message::Classification(Some(Some(notice.clone()))));
        let mut ui = simulator(app.view());
        ui.find(notice.as_str())
            .expect("the notice on the home screen");
        assert!(ui.find(t("gui.accueil_rien").as_str()).is_err());
    }

    /// Messages are `Debug`; a PIN or a password typed in a field must never show there.
    #[test]
    fn a_pin_in_a_message_is_never_shown_by_debug() {
        let shown = format!(
            "{:?} {:?} {:?} {:?} {:?}",
            envois::Message::PinChanged("4821".into()),
            envois::Message::PasswordChanged("motdepasse".into()),
            screen::signature::Message::Pin("4821".into()),
            screen::marches::Message::PinChanged("4821".into()),
            screen::dce::Message::Pin("4821".into()),
        );
        assert!(
            !shown.contains("4821") && !shown.contains("motdepasse"),
            "{shown}"
        );
    }

    #[test]
    fn the_window_icon_is_read_from_its_png() {
        let icon = window_icon();
        assert!(
            icon.is_some(),
            "assets/paraphe-64.png decodes as 8-bit RGBA"
        );
    }

    /// Escape closes the Envois answer form, then the item's detail; on Hélios it hides the
    /// bordereau's pieces; elsewhere it does nothing.
    #[test]
    fn escape_closes_what_is_open_on_the_screen_shown() {
        let mut app = Paraphe {
            screen: Screen::Envois,
            ..Default::default()
        };
        let detail = screen::envoi_detail::Detail {
            item: crate::outbox::Item {
                id: 7,
                genre: crate::outbox::Kind::Acte,
                libelle: "Délibération".into(),
                etat: crate::outbox::State::Acquitte,
                cree_le: String::new(),
                modifie_le: String::new(),
                lot_id: None,
                siren: None,
                numero_interne: None,
                id_plateforme: None,
            },
            recus: Vec::new(),
            acquit: None,
            retours: Vec::new(),
            journal: Vec::new(),
        };
        let _ = app
            .envois
            .update(envois::Message::Selected(Some(Ok(Box::new(detail)))));
        let shows_detail = |app: &Paraphe| {
            let mut ui = simulator(app.envois.view());
            ui.find(t("gui.envoi_demander_annulation").as_str()).is_ok()
        };
        assert!(shows_detail(&app));
        let _ = app.update(Message::Escape);
        assert!(!shows_detail(&app), "the detail closed");
        let _ = app.update(Message::Show(Screen::Actes));
        let _ = app.update(Message::Escape);
    }

    #[test]
    fn home_offers_the_demo_and_shows_how_to_use_it() {
        let app = Paraphe::default();
        let mut ui = simulator(app.view());
        ui.click(t("gui.demo_demarrer").as_str())
            .expect("demo button");
        let messages: Vec<Message> = ui.into_messages().collect();
        assert!(
            matches!(messages.last(), Some(Message::StartDemo)),
            "{messages:?}"
        );
        let app = Paraphe {
            demo: screen::accueil::DemoStatus::Ready(crate::platform::demo::Demo {
                adresse: "https://127.0.0.1:4443".into(),
                ca: "ca.pem".into(),
                p12: "demo.p12".into(),
                p12_signature: "demo-signature.p12".into(),
                donnees: "bac".into(),
            }),
            ..Default::default()
        };
        let mut ui = simulator(app.view());
        let ready = crate::messages::tf(
            "gui.demo_prete",
            &[
                ("adresse", "https://127.0.0.1:4443"),
                ("mot_de_passe", "bac-a-sable"),
            ],
        );
        ui.find(ready.as_str()).expect("how to use the demo");
        assert!(ui.find(t("gui.demo_demarrer").as_str()).is_err());
    }
}
