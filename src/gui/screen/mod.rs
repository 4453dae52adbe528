//! One module per screen; each has its own `State`, `Message` and `update` returning a `Task`.

pub mod accueil;
pub mod actes;
pub mod aide;
pub mod certificats;
pub mod dce;
pub mod envoi_detail;
pub mod envois;
pub mod helios;
pub mod marches;
pub mod parametres;
pub mod signature;
