package assistant

import "strings"

// The lexicon groups the words help-centre visitors use for the same thing, across languages, into
// concepts: "postage", "delivery", "envío", "livraison" and "enviament" all carry the concept
// "~ship". Articles and questions are indexed with their concepts besides their stems, so that a
// paraphrase, a synonym or a question in another language than the article meets it. It covers the
// everyday vocabulary of shops and subscriptions (orders, shipping, returns, payment, accounts,
// plans, warranty), not any one knowledge base. Single words match by their stem in the entry's
// language (and by their folded form in any language), except those written "=word", which match
// by their folded form only: "=cambio" (a change) is not "cambiar" (to change something), which
// shares its stem; entries of several words match as phrases of folded words.
var lexiconSource = []struct {
	concept string
	words   map[string]string // language -> comma-separated words and phrases
}{
	{"ship", map[string]string{
		"en": "ship, shipping, shipped, ships, send, sends, sent, deliver, delivery, deliveries, delivered, postage, dispatch, dispatched, courier, carrier, post",
		"es": "envío, envio, enviar, envían, enviáis, enviamos, envía, mandar, mandáis, mandan, entrega, entregas, entregar, reparto, correos, oficina de correos",
		"fr": "livraison, livrer, livrez, livré, livrée, expédition, expédier, expédiez, envoi, envoyer, envoyez, poste",
		"ca": "enviament, enviaments, enviar, envieu, envien, lliurament, lliurar, entrega, lliurem, correus",
		"de": "versand, versenden, lieferung, liefern, zustellung, post",
		"pt": "envio, enviar, entrega, entregar, remessa, portes",
		"it": "spedizione, spedire, consegna, consegnare, spedite",
	}},
	{"weather", map[string]string{
		"en": "weather, forecast, what's the weather, whats the weather", "es": "qué tiempo hace, qué tiempo hará, qué tiempo va a hacer, el tiempo que hace, el tiempo que hará, pronóstico del tiempo",
		"fr": "météo, quel temps fait, quel temps fera, quel temps va", "ca": "quin temps fa, quin temps farà, quin temps fara, el temps que fa, previsió del temps",
		"de": "wetter", "pt": "que tempo faz, previsão do tempo", "it": "che tempo fa, meteo",
	}},
	{"clock", map[string]string{
		"en": "noon, midday, o'clock, cut-off, cutoff, cut off", "es": "mediodía, en punto, hora límite", "fr": "midi, heure limite", "ca": "migdia, en punt, hora límit",
		"de": "mittag, uhr", "pt": "meio-dia", "it": "mezzogiorno",
	}},
	{"today", map[string]string{
		"en": "today, tonight, this morning, this evening, same day", "es": "hoy, esta noche, esta mañana, mismo día",
		"fr": "aujourd'hui, ce soir, ce matin, même jour, le jour même", "ca": "avui, aquesta nit, aquest matí, mateix dia",
		"de": "heute, heute abend, am selben tag", "pt": "hoje, esta noite, mesmo dia", "it": "oggi, stasera, stesso giorno",
	}},
	{"cost", map[string]string{
		"en": "cost, costs, price, prices, pricing, fee, fees, charge, charged, charges, expensive, cheap, how much, rate, rates",
		"es": "coste, costo, costar, cuesta, cuestan, precio, precios, vale, valen, gastos, tarifa, tarifas, cargo, cobran, cobráis, comisión, cuánto cuesta, cuánto sale, cuánto me sale",
		"fr": "coût, coûte, coûtent, coûter, prix, tarif, tarifs, frais, cher, c'est combien",
		"ca": "cost, costa, costen, preu, preus, val, valen, tarifa, despeses, comissió, càrrec",
		"de": "kosten, kostet, preis, preise, gebühr, gebühren",
		"pt": "custo, custa, preço, preços, taxa, portes",
		"it": "costo, costa, prezzo, prezzi, tariffa, spese",
	}},
	{"free", map[string]string{
		"en": "free, no charge", "es": "gratis, gratuito, gratuita, sin coste", "fr": "gratuit, gratuite, offert",
		"ca": "gratis, gratuït, gratuïta, sense cost", "de": "kostenlos, gratis", "pt": "grátis, gratuito", "it": "gratis, gratuito, gratuita",
	}},
	{"time", map[string]string{
		"en": "how long, how fast, how quickly, how soon, take, takes, time, times, quick, fast, soon, wait, window, deadline, time limit",
		"es": "tarda, tardan, tardar, tardáis, tiempo, plazo, plazos, rápido, pronto, cuánto tarda, hasta cuándo",
		"fr": "combien de temps, temps, délai, délais, rapide, rapidement, vite, jusqu'à quand",
		"ca": "triga, trigar, trigueu, temps, termini, terminis, ràpid, fins quan",
		"de": "dauert, dauer, wie lange, zeit, schnell",
		"pt": "demora, prazo, prazos, tempo, rápido",
		"it": "tempi, tempo, quanto tempo, veloce",
	}},
	{"arrive", map[string]string{
		"en": "arrive, arrives, arrived, arrival, get here, reach, receive, received",
		"es": "llegar, llega, llegan, llegó, llegado, recibir, recibo, recibido",
		"fr": "arriver, arrive, arrivé, arrivée, recevoir, reçois, reçu",
		"ca": "arribar, arriba, arribat, arribarà, rebre, rebut",
		"de": "ankommen, angekommen, erhalten", "pt": "chegar, chegou, receber", "it": "arrivare, arrivato, ricevere",
	}},
	{"country", map[string]string{
		"en": "country, countries, abroad, international, overseas, europe, european union, eu, uk, united kingdom, britain, great britain, england, scotland, wales, ireland, portugal, france, germany, italy, spain, belgium, netherlands, holland, austria, switzerland, norway, sweden, denmark, finland, poland, luxembourg, greece, andorra, usa, united states, canada",
		"es": "país, países, extranjero, internacional, europa, unión europea, ue, reino unido, inglaterra, irlanda, portugal, francia, alemania, italia, españa, bélgica, países bajos, holanda, austria, suiza, noruega, suecia, dinamarca, finlandia, polonia, luxemburgo, grecia, andorra, estados unidos, canadá",
		"fr": "pays, étranger, international, internationale, europe, union européenne, royaume-uni, royaume uni, angleterre, irlande, portugal, france, allemagne, italie, espagne, belgique, pays-bas, autriche, suisse, norvège, suède, danemark, finlande, pologne, luxembourg, grèce, andorre, états-unis, canada",
		"ca": "país, països, estranger, internacional, europa, unió europea, regne unit, anglaterra, irlanda, portugal, frança, alemanya, itàlia, espanya, bèlgica, països baixos, holanda, àustria, suïssa, noruega, suècia, dinamarca, finlàndia, polònia, luxemburg, grècia, andorra, estats units, canadà",
		"de": "land, länder, ausland, international, europa, großbritannien, vereinigtes königreich, österreich, schweiz, deutschland, frankreich, spanien, italien, belgien, niederlande, norwegen",
		"pt": "país, países, estrangeiro, internacional, europa, reino unido, espanha, frança, alemanha, itália, suíça, noruega, bélgica",
		"it": "paese, paesi, estero, internazionale, europa, regno unito, spagna, francia, germania, svizzera, norvegia, belgio",
	}},
	{"customs", map[string]string{
		"en": "customs, duties, duty, import, imports, tariff, tariffs",
		"es": "aduana, aduanas, aranceles, arancel, importación",
		"fr": "douane, douanes, droits de douane, importation",
		"ca": "duana, duanes, aranzels, importació",
		"de": "zoll, zölle, einfuhr", "pt": "alfândega, direitos aduaneiros", "it": "dogana, dazi",
	}},
	{"tax", map[string]string{
		"en": "tax, taxes, vat", "es": "impuesto, impuestos, iva, nif, cif", "fr": "taxe, taxes, impôt, tva",
		"ca": "impost, impostos, iva, nif", "de": "steuer, steuern, mwst, ust", "pt": "imposto, impostos, iva, nif", "it": "tassa, tasse, iva",
	}},
	{"return", map[string]string{
		"en": "return, returns, returned, returning, send back, send it back, bring back",
		"es": "devolver, devolución, devoluciones, devuelvo, devuelve, devolvéis, devolverlo, devolverla, regresar",
		"fr": "retour, retours, retourner, renvoyer, rendre, renvoi",
		"ca": "tornar, retornar, devolució, devolucions, retorn, retorns, retornareu",
		"de": "rücksendung, zurücksenden, retoure, zurückgeben", "pt": "devolver, devolução", "it": "reso, restituire, restituzione",
	}},
	{"refund", map[string]string{
		"en": "refund, refunds, refunded, reimburse, reimbursed, money back, money",
		"es": "reembolso, reembolsos, reembolsar, reembolsáis, dinero, plata, devolver el dinero",
		"fr": "remboursement, rembourser, remboursé, remboursée, argent",
		"ca": "reemborsament, reemborsar, reemborsat, diners",
		"de": "rückerstattung, erstattung, erstatten, geld", "pt": "reembolso, dinheiro", "it": "rimborso, rimborsare, soldi",
	}},
	{"password", map[string]string{
		"en": "password, passcode, pw, pwd", "es": "contraseña, clave", "fr": "mot de passe, mdp", "ca": "contrasenya",
		"de": "passwort, kennwort", "pt": "senha, palavra-passe", "it": "password",
	}},
	{"login", map[string]string{
		"en": "log in, login, sign in, signin, log on", "es": "entrar, iniciar sesión, acceder, acceso",
		"fr": "connecter, connexion, me connecter", "ca": "entrar, accedir, iniciar sessió", "de": "anmelden, einloggen",
		"pt": "entrar, iniciar sessão", "it": "accedere, accesso",
	}},
	{"forgot", map[string]string{
		"en": "forgot, forgotten, forget, reset, lost my password, lost password, don't remember, dont remember, can't remember, cant remember, locked out, can't log in, cant log in, can't sign in, cant sign in",
		"es": "olvidé, olvidado, olvidar, restablecer, recuperar, perdí la contraseña, perdido la contraseña, no me acuerdo, no recuerdo, no puedo entrar",
		"fr": "oublié, oublier, réinitialiser, perdu mon mot de passe, me souviens plus, me souviens pas, je n'arrive pas à me connecter", "ca": "oblidat, oblidar, restablir, recuperar, perdut la contrasenya, no me'n recordo, no recordo, no puc entrar",
		"de": "vergessen, zurücksetzen", "pt": "esqueci, esquecer, redefinir", "it": "dimenticato, reimpostare",
	}},
	{"account", map[string]string{
		"en": "account, profile, acct", "es": "cuenta, perfil", "fr": "compte, profil", "ca": "compte, perfil",
		"de": "konto, profil", "pt": "conta, perfil", "it": "account, profilo",
	}},
	{"signup", map[string]string{
		"en": "sign up, signup, register, registration, create, join, make an account, open an account, set up an account, new account",
		"es": "registrarse, registro, regístrate, de alta, crear, abrir una cuenta, hacer una cuenta, cuenta nueva, nueva cuenta",
		"fr": "inscrire, inscription, inscris, inscrit, inscrivez, créer, ouvrir un compte, faire un compte, nouveau compte",
		"ca": "registrar, registre, d'alta, crear, obrir un compte, fer un compte, compte nou", "de": "registrieren, erstellen",
		"pt": "registar, registrar, cadastro, criar", "it": "registrarsi, registrazione, creare",
	}},
	{"delete", map[string]string{
		"en": "delete, remove, erase, close, wipe", "es": "borrar, eliminar, suprimir, de baja, cerrar",
		"fr": "supprimer, effacer, fermer", "ca": "esborrar, eliminar, suprimir, tancar", "de": "löschen, entfernen",
		"pt": "apagar, eliminar, excluir", "it": "cancellare, eliminare",
	}},
	{"data", map[string]string{
		"en": "data, personal data, privacy, gdpr", "es": "datos, privacidad, rgpd", "fr": "données, confidentialité, rgpd",
		"ca": "dades, privacitat", "de": "daten, datenschutz", "pt": "dados, privacidade", "it": "dati, privacy",
	}},
	{"pay", map[string]string{
		"en": "pay, paying, paid, payment, payments, card, credit card, debit card, bank transfer, transfer, wire, wire transfer",
		"es": "pagar, pago, pagos, tarjeta, tarjetas, transferencia, abonar",
		"fr": "payer, paiement, paiements, carte, carte bancaire, virement",
		"ca": "pagar, pagament, pagaments, targeta, targetes, transferència",
		"de": "bezahlen, zahlung, zahlen, karte, kreditkarte, überweisung", "pt": "pagar, pagamento, cartão, transferência",
		"it": "pagare, pagamento, carta, bonifico",
	}},
	{"amex", map[string]string{"en": "amex, american express"}},
	{"accept", map[string]string{
		"en": "accept, accepted, take", "es": "aceptar, aceptáis, aceptan, aceptamos, admitís", "fr": "accepter, acceptez, acceptés",
		"ca": "acceptar, accepteu, accepten", "de": "akzeptieren, nehmen", "pt": "aceitar, aceitam", "it": "accettare, accettate",
	}},
	{"invoice", map[string]string{
		"en": "invoice, invoices, receipt, receipts, bill", "es": "factura, facturas, recibo, boleta, comprobante", "fr": "facture, factures, reçu",
		"ca": "factura, factures, rebut", "de": "rechnung, quittung", "pt": "fatura, recibo", "it": "fattura, ricevuta",
	}},
	{"business", map[string]string{
		"en": "business, company, corporate, firm", "es": "empresa, negocio, autónomo", "fr": "entreprise, société, professionnel",
		"ca": "empresa, negoci, autònom", "de": "firma, unternehmen, geschäft", "pt": "empresa, negócio", "it": "azienda, impresa",
	}},
	{"fail", map[string]string{
		"en": "failed, fail, fails, declined, rejected, bounced, refused, didn't go through, didnt go through, did not go through",
		"es": "fallido, fallida, falló, rechazado, rechazada, denegado, rebotó, rebotado, no ha pasado, no pasó, no se pudo cobrar, no se ha podido cobrar",
		"fr": "échoué, échec, refusé, refusée, rejeté, pas passé, n'est pas passé", "ca": "fallat, fallit, rebutjat, denegat, no ha passat",
		"de": "fehlgeschlagen, abgelehnt", "pt": "falhou, recusado", "it": "fallito, rifiutato",
	}},
	{"subscription", map[string]string{
		"en": "subscription, subscriptions, subscribe, subscribed, membership, sub, subs, my plan, our plan", "es": "suscripción, suscripciones, suscribirse, suscrito, membresía, mi plan, nuestro plan",
		"fr": "abonnement, abonnements, abonner, abonné, ma formule, notre formule", "ca": "subscripció, subscripcions, subscriure, subscrit, el meu pla, el nostre pla",
		"de": "abonnement, abo", "pt": "assinatura, subscrição", "it": "abbonamento",
	}},
	{"plan", map[string]string{
		"en": "plan, plans", "es": "plan, planes", "fr": "formule, formules, offre", "ca": "pla, plans",
		"de": "tarif, plan", "pt": "plano, planos", "it": "piano, piani",
	}},
	{"month", map[string]string{
		"en": "monthly, month, months", "es": "mensual, mes, meses", "fr": "mensuel, mensuelle, mois",
		"ca": "mensual, mes, mesos", "de": "monatlich, monat", "pt": "mensal, mês, meses", "it": "mensile, mese",
	}},
	{"discount", map[string]string{
		"en": "discount, discounts, off, promo, coupon, reduction, cheaper, deal, better price", "es": "descuento, descuentos, rebaja, promoción, cupón, oferta, más barato",
		"fr": "réduction, réductions, réduc, remise, promo, promotion, rabais, moins cher", "ca": "descompte, descomptes, rebaixa, promoció, més barat",
		"de": "rabatt, ermäßigung", "pt": "desconto, descontos", "it": "sconto, sconti",
	}},
	{"student", map[string]string{
		"en": "student, students, university", "es": "estudiante, estudiantes, universitario, universitaria, universitarios",
		"fr": "étudiant, étudiants, étudiante, fac", "ca": "estudiant, estudiants, universitari, universitària", "de": "student, studenten", "pt": "estudante, estudantes", "it": "studente, studenti",
	}},
	{"change", map[string]string{
		"en": "change, changes, increase, go up, rise, raise", "es": "=cambio, =cambios, subir, subida, aumento, suben",
		"fr": "=changement, =changements, augmenter, augmentation, hausse", "ca": "=canvi, =canvis, pujar, pujada, augment",
		"de": "änderung, erhöhung", "pt": "mudança, aumento", "it": "cambiamento, aumento",
	}},
	{"pause", map[string]string{
		"en": "pause, paused, hold, on hold, suspend, freeze, break, for a while, temporarily", "es": "pausar, pausa, suspender, congelar, parar temporalmente, por un tiempo, temporalmente",
		"fr": "pause, suspendre, interrompre", "ca": "pausar, pausa, suspendre, aturar", "de": "pausieren, pause, aussetzen",
		"pt": "pausar, suspender", "it": "sospendere, pausa",
	}},
	{"holiday", map[string]string{
		"en": "holiday, holidays, vacation, away, summer, travelling, traveling", "es": "vacaciones, verano, viaje, fuera",
		"fr": "vacances, été, voyage, absent", "ca": "vacances, estiu, viatge, fora", "de": "urlaub, ferien",
		"pt": "férias, verão", "it": "vacanze, estate",
	}},
	{"skip", map[string]string{
		"en": "skip, skipped, miss", "es": "saltar, saltarme, saltarse, omitir", "fr": "sauter, ignorer, zapper",
		"ca": "saltar, ometre", "de": "überspringen, auslassen", "pt": "pular, saltar", "it": "saltare",
	}},
	{"cancel", map[string]string{
		"en": "cancel, cancellation, cancelling, canceling, stop, terminate, unsubscribe, unsubscribing, quit, end",
		"es": "cancelar, cancelación, anular, baja, dar de baja, darme de baja",
		"fr": "annuler, annulation, résilier, résiliation, arrêter, désabonner, me désabonner, désabonnement",
		"ca": "cancel·lar, cancel·lació, cancel·lo, anul·lar, baixa, donar de baixa", "de": "kündigen, kündigung, stornieren",
		"pt": "cancelar, cancelamento", "it": "disdire, disdetta, annullare",
	}},
	{"tracking", map[string]string{
		"en": "track, tracking, trace, follow, where is my, where's my, status of my, where my order is, where my parcel is, where my package is", "es": "seguimiento, seguir, rastrear, rastreo, localizar, dónde está mi, dónde está el, estado de mi",
		"fr": "suivi, suivre, tracer, où est ma, où est mon, où en est", "ca": "seguiment, seguir, rastrejar, on és el meu, on és la meva, on és", "de": "sendungsverfolgung, verfolgen, tracking",
		"pt": "rastreio, rastrear, seguimento", "it": "tracciamento, tracciare",
	}},
	{"number", map[string]string{
		"en": "number, code", "es": "número, código", "fr": "numéro, code", "ca": "número, codi",
		"de": "nummer, code", "pt": "número, código", "it": "numero, codice",
	}},
	{"parcel", map[string]string{
		"en": "parcel, parcels, package, packages, packet, shipment, box", "es": "paquete, paquetes, caja",
		"fr": "colis, paquet", "ca": "paquet, paquets, caixa", "de": "paket, sendung", "pt": "pacote, encomenda", "it": "pacco, pacchi",
	}},
	{"order", map[string]string{
		"en": "order, orders, ordered, purchase", "es": "pedido, pedidos, pedir, pido, compra", "fr": "commande, commandes, commander, achat",
		"ca": "comanda, comandes, demanar, compra", "de": "bestellung, bestellen", "pt": "encomenda, pedido, compra", "it": "ordine, ordinare",
	}},
	{"lost", map[string]string{
		"en": "lost, missing, never arrived, never came, late, delayed, stuck, not arrived, hasn't arrived, hasn't updated, hasnt updated, hasn't moved, hasnt moved",
		"es": "perdido, perdida, extraviado, retrasado, retraso, nunca, no ha llegado, no llega",
		"fr": "perdu, égaré, retard, jamais, pas arrivé, toujours pas",
		"ca": "perdut, perduda, retard, mai, no ha arribat, encara no", "de": "verloren, verspätet, nie angekommen",
		"pt": "perdido, atrasado, nunca chegou", "it": "perso, ritardo, mai arrivato",
	}},
	{"broken", map[string]string{
		"en": "broken, broke, break down, stopped working, not working, doesn't work, fault, faulty, defect, defects, defective, damaged",
		"es": "roto, rota, estropeado, estropeada, averiado, avería, defecto, defectos, defectuoso, no funciona, fallado, fallada",
		"fr": "cassé, cassée, panne, défaut, défauts, défectueux, endommagé, ne marche plus, ne fonctionne plus",
		"ca": "trencat, trencada, espatllat, espatllada, avariat, avaria, defecte, defectes, defectuós, no funciona",
		"de": "kaputt, defekt, beschädigt, funktioniert nicht", "pt": "avariado, quebrado, defeito, não funciona",
		"it": "rotto, guasto, difetto, difettoso, non funziona",
	}},
	{"warranty", map[string]string{
		"en": "warranty, guarantee, covered, cover, covers", "es": "garantía, cubre, cubierto", "fr": "garantie, couvert, couvre",
		"ca": "garantia, cobreix, cobert", "de": "garantie, gewährleistung", "pt": "garantia", "it": "garanzia",
	}},
	{"repair", map[string]string{
		"en": "repair, repaired, fix, fixed, replace, replacement", "es": "reparar, reparación, arreglar, sustituir, reemplazar",
		"fr": "réparer, réparation, remplacer, remplacement", "ca": "reparar, reparació, arreglar, substituir",
		"de": "reparieren, reparatur, ersetzen", "pt": "reparar, consertar, substituir", "it": "riparare, riparazione, sostituire",
	}},
	{"label", map[string]string{
		"en": "label, labels, print, printed, printer, sticker, stickers", "es": "etiqueta, etiquetas, imprimir, imprimo, pegatina",
		"fr": "étiquette, étiquettes, imprimer, imprimante", "ca": "etiqueta, etiquetes, imprimir, impressora",
		"de": "etikett, etiketten, drucken", "pt": "etiqueta, etiquetas, imprimir", "it": "etichetta, etichette, stampare",
	}},
	{"claim", map[string]string{
		"en": "claim, claims", "es": "reclamar, reclamación", "fr": "réclamation, réclamer", "ca": "reclamar, reclamació",
		"de": "reklamation, reklamieren", "pt": "reclamar, reclamação", "it": "reclamo, reclamare",
	}},
	{"grinder", map[string]string{
		"en": "grinder, grinders, mill", "es": "molinillo, molinillos, molino", "fr": "moulin, moulins, broyeur",
		"ca": "molinet, molinets, molí", "de": "mühle, kaffeemühle", "pt": "moinho", "it": "macinino, macinacaffè",
	}},
	{"kettle", map[string]string{
		"en": "kettle, kettles", "es": "hervidor, hervidores", "fr": "bouilloire", "ca": "bullidor, bullidors",
		"de": "wasserkocher", "pt": "chaleira", "it": "bollitore",
	}},
	{"machine", map[string]string{
		"en": "machine, equipment, device, accessory, accessories", "es": "máquina, accesorio, accesorios, aparato",
		"fr": "machine, appareil, accessoire, accessoires", "ca": "màquina, accessori, accessoris, aparell",
		"de": "maschine, gerät, zubehör", "pt": "máquina, acessório", "it": "macchina, accessorio",
	}},
	{"coffee", map[string]string{
		"en": "coffee, beans", "es": "café, granos", "fr": "café, grains", "ca": "cafè, grans", "de": "kaffee, bohnen",
		"pt": "café", "it": "caffè",
	}},
	{"bag", map[string]string{
		"en": "bag, bags", "es": "bolsa, bolsas", "fr": "sachet, sachets, sac", "ca": "bossa, bosses",
		"de": "beutel, tüte", "pt": "saco, pacote", "it": "sacchetto, busta",
	}},
	{"roast", map[string]string{
		"en": "roast, roasted, roastery, roaster, roasting", "es": "tostar, tueste, tostadero, tostado, tuesta, tuestan",
		"fr": "torréfaction, torréfier, torréfié, torréfacteur, brûlerie", "ca": "torrar, torrefacció, torrador, torrat",
		"de": "rösten, rösterei", "pt": "torrefação, torrar", "it": "torrefazione, tostare",
	}},
	{"email", map[string]string{
		"en": "email, e-mail, mail, email address, e-mail address", "es": "correo electrónico, email, dirección de correo, dirección de email, mi correo, tu correo, el correo, un correo",
		"fr": "courriel, e-mail, email, mail, adresse e-mail, adresse email, adresse mail, adresse électronique",
		"ca": "correu electrònic, email, adreça electrònica, adreça de correu, el meu correu, el teu correu, el correu, un correu", "de": "e-mail, mail, e-mail-adresse", "pt": "email, correio eletrónico", "it": "email, posta",
	}},
	{"day", map[string]string{
		"en": "day, days, week, weeks, weekday, weekdays", "es": "día, días, semana, semanas", "fr": "jour, jours, semaine, semaines",
		"ca": "dia, dies, setmana, setmanes", "de": "tag, tage, woche", "pt": "dia, dias, semana", "it": "giorno, giorni, settimana",
	}},
	// Not "address": in help articles it is most often an email address.
	{"location", map[string]string{
		"en": "located, location, based, from where, roastery, warehouse, headquarters, premises", "es": "ubicado, ubicados, ubicación, desde dónde, tostadero, almacén, sede, de dónde sois, de qué ciudad",
		"fr": "situé, situés, d'où, torréfaction, entrepôt, siège", "ca": "ubicat, ubicats, des d'on, torrefactora, magatzem, d'on sou", "de": "standort",
		"pt": "localizado", "it": "sede",
	}},
}

// lexicon is the compiled lexiconSource.
type lexicon struct {
	byStem  map[string][]string   // language + "\x00" + stem -> concept tokens
	byFold  map[string][]string   // folded single word, any language -> concept tokens
	phrases map[string][][]string // first folded word -> phrases (folded words) with their concept as last element
	words   map[string][]string   // folded single words of the lexicon -> concept tokens (typo vocabulary): byFold itself
}

func conceptToken(c string) string { return "~" + c }

var kbLexicon = buildLexicon()

// buildLexicon compiles lexiconSource.
func buildLexicon() *lexicon {
	lx := &lexicon{byStem: map[string][]string{}, byFold: map[string][]string{}, phrases: map[string][][]string{}}
	add := func(m map[string][]string, k, tok string) {
		for _, t := range m[k] {
			if t == tok {
				return
			}
		}
		m[k] = append(m[k], tok)
	}
	for _, c := range lexiconSource {
		tok := conceptToken(c.concept)
		for lang, list := range c.words {
			a := analyzerFor(lang)
			for _, entry := range strings.Split(list, ",") {
				ws := lowerWords(strings.TrimSpace(entry))
				switch {
				case len(ws) == 0:
				case len(ws) == 1:
					if !strings.HasPrefix(strings.TrimSpace(entry), "=") {
						add(lx.byStem, lang+"\x00"+a.term(ws[0]), tok)
					}
					add(lx.byFold, Fold(ws[0]), tok)
				default:
					p := make([]string, 0, len(ws)+1)
					for _, w := range ws {
						p = append(p, Fold(w))
					}
					lx.phrases[p[0]] = append(lx.phrases[p[0]], append(p, tok))
				}
			}
		}
	}
	// words had the same keys and tokens as byFold, built the same way, in a map of its own: one
	// map serves both, 0.27 MB of heap for the lexicon instead of 0.40 (TestMemoryHeap).
	lx.words = lx.byFold
	return lx
}

// concepts returns the concept tokens of one word (lowercase, accents kept) read as language lang.
func (lx *lexicon) concepts(lang, w, stem string) []string {
	if c := lx.byStem[primaryTag(lang)+"\x00"+stem]; len(c) > 0 {
		return c
	}
	return lx.byFold[Fold(w)]
}

// phraseConcepts returns, for each position of the folded words, the concept tokens of the
// lexicon phrases starting there, and how many words each covers.
func (lx *lexicon) phraseConcepts(folded []string, at int) (toks []string, spans []int) {
	for _, p := range lx.phrases[folded[at]] {
		n := len(p) - 1
		if at+n > len(folded) {
			continue
		}
		ok := true
		for i := 0; i < n; i++ {
			if folded[at+i] != p[i] {
				ok = false
				break
			}
		}
		if ok {
			toks = append(toks, p[n])
			spans = append(spans, n)
		}
	}
	return toks, spans
}
