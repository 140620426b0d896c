# Kasse, kassevinduet: norsk bokmål (referansespråket for meldings-id-ene).
# Argumenter som { $amount } er ferdig formatert (beløp i kassens format).

## Felles
common-close = Lukk

## Miljømerker (statuslinjen). Produksjon skal aldri se ut som test.
env-demo = DEMO · simulator, ingen ekte penger
env-test = TEST · ingen ekte penger
env-production = PRODUKSJON · ekte betalinger
env-simulator = SIMULATOR · ingen ekte penger

## Statuslinje
tab-sale = Salg
tab-history = Historikk
tab-admin = Admin
status-relay-connected = Relé tilkoblet
status-relay-connecting = Relé kobler til…
status-relay-reconnecting = Relé kobler til på nytt (forsøk { $attempt })
status-relay-not-configured = Ingen relé: kunder kan ikke skanne
status-vipps-reachable = Vipps svarer
status-vipps-unreachable = Vipps svarer ikke
status-vipps-unknown = Vipps…
status-customer-waiting = Kunde venter
status-one-time-qr = Engangs-QR
status-engine-stopped = Betalingsmotoren har stoppet. Start kassen på nytt.
status-settings-not-saved = Innstillingene ble ikke lagret: { $error }
status-recovered-unresolved = { $unresolved } uferdige betalinger er ikke avklart ennå; kassen prøver videre.
demo-banner = Demomodus: en innebygd Vipps-simulator står i stedet for Vipps, og ingen ekte penger flyttes. Bruk den simulerte telefonen til høyre. For å sette opp en ekte kasse: Admin → Tilkobling.
training-banner = TRENINGSMODUS · ingen ekte penger flyttes; kvitteringene heter «Treningskvittering». En leder avslutter under Rapporter.

## Salg
sale-search-placeholder = Søk eller skann strekkode
sale-scanning = Skanner: { $code }
sale-unknown-barcode = Ukjent strekkode { $code }
sale-refused = Ikke mulig: { $reason }
sale-category-all = Alle
sale-catalog-empty = Varekatalogen er tom. Legg inn varer under Admin → Varekatalog (F4), eller importer en CSV-fil.
sale-no-items = Ingen varer passer.
sale-price-per-kg = { $price } per kg
sale-basket = Handlekurv
sale-basket-empty = Trykk på en vare eller skann en strekkode.
sale-clear = Tøm
sale-line-discount = rabatt { $amount }
sale-basket-discount = Rabatt på hele kurven
sale-subtotal = Sum før rabatt
sale-discount = Rabatt
sale-vat-line = MVA { $rate } av { $base }
sale-total = Totalt
sale-customer-waiting = En kunde har skannet og venter: trykk Betal.
sale-not-this-customer = Ikke denne kunden
sale-pay = Betal { $amount }  (Enter)
sale-pay-empty = Betal
sale-discount-line-title = Rabatt på { $name }
sale-discount-basket-title = Rabatt på hele kurven
sale-discount-hint = Skriv prosent (10 %) eller beløp (25,00).
sale-discount-apply = Bruk
sale-discount-remove = Fjern rabatt
sale-discount-invalid = Skriv en prosent som 10 % eller et beløp som 25,00.
sale-weight-title = Vekt i kg
sale-weight-add = Legg til
sale-weight-invalid = Skriv vekten i kg, f.eks. 0,350.

## Betaling
pay-to-pay = Å betale
pay-amount = Beløp { $amount }
pay-scan-hint = Skann med Vipps- eller MobilePay-appen
pay-qr-missing = Kassens QR-kode er ikke klar ennå. Se statuslinjen, eller send betalingen til kundens telefonnummer.
pay-progress = Betaling
pay-step-waiting = Venter på at kunden skanner
pay-step-checked-in = Kunden har skannet: sender forespørsel
pay-step-request-sent = Forespørsel sendt til kundens telefon
pay-step-approved = Godkjent av kunden
pay-step-captured = Betaling mottatt
pay-reference = Vipps-referanse: { $reference }
pay-retrying = Kassen prøver videre.
pay-cancelling = Avbryter… kurven åpnes igjen når Vipps bekrefter.
pay-send-to-phone = Send til telefonnummer (F8)
pay-one-time-qr = Vis en QR-kode for denne betalingen
pay-one-time-hint = En QR-kode bare for denne betalingen: skann med kameraet eller Vipps- eller MobilePay-appen
pay-one-time-expires = Gyldig i { $time } til
pay-one-time-relay-down = Reléet kan ikke nås, så kassens egen QR-kode ville ikke virke. Den kommer tilbake når reléet gjør det.
pay-cancel = Avbryt (Esc)
pay-retry = Prøv igjen (F5)
pay-back-to-basket = Tilbake til kurven (Esc)
pay-declined-title = Avvist
pay-declined-next = Kunden avviste i appen. Prøv igjen, eller ta imot en annen betalingsmåte.
pay-expired-title = Ikke svar
pay-expired-next = Kunden svarte ikke i tide. Prøv igjen og be kunden sjekke appen.
pay-token-expired-title = Skann på nytt
pay-token-expired-next = Kundens skanning er for gammel. Be kunden skanne QR-koden på nytt, og prøv igjen.
pay-send-to-scanned = Send til { $number }
pay-push-not-allowed-title = Push-betaling er ikke slått på
pay-push-not-allowed-next = Vipps MobilePay har ikke slått på push-betaling for denne butikken. Be admin kontakte Vipps MobilePay; ta imot en annen betalingsmåte så lenge.
pay-cancelled-title = Avbrutt
pay-cancelled-next = Ingen penger ble trukket. Gå tilbake til kurven eller prøv igjen.
pay-cancelled-released = Det reserverte beløpet er frigitt til kunden. Gå tilbake til kurven eller prøv igjen.
pay-failed-title = Betaling ikke mulig
pay-failed-next = Prøv igjen, eller gå tilbake til kurven.
pay-phone-title = Send til telefonnummer
pay-phone-hint = Kunden får betalingsforespørselen i appen sin.
pay-phone-send = Send forespørsel

## Kvittering
receipt-title = Kvittering
receipt-sale = Salg { $sale }
receipt-reference = Vipps-referanse: { $reference }
receipt-paid = Betalt { $amount } ✓
receipt-new-sale = Nytt salg (Enter)

## Historikk
history-title = Dagens salg
history-refresh = Oppdater
history-loading = Henter…
history-empty = Ingen salg i dag ennå.
history-pick = Trykk på et salg for å se det.
history-sale = Salg { $sale }
history-captured = Mottatt
history-refunded = Refundert
history-refunded-amount = { $amount } refundert
history-refund = Refunder…
history-nothing-to-refund = Ingenting igjen å refundere.
history-refund-max = Inntil { $amount } kan refunderes.
history-refund-amount = Beløp å refundere
history-refund-all = Alt
history-refund-confirm = Refunder (admin-PIN)
history-refund-pending = Refunderer…
history-refund-done = Refundert { $amount } ✓
history-refund-bad-amount = Skriv et beløp over null og ikke mer enn det som er igjen.
sale-state-open = Åpent
sale-state-awaiting-check-in = Venter på skanning
sale-state-payment-requested = Forespørsel sendt
sale-state-authorized = Godkjent
sale-state-capturing = Trekker beløpet
sale-state-completed = Betalt
sale-state-declined = Avvist
sale-state-expired = Utløpt
sale-state-cancelling = Avbryter
sale-state-cancelled = Avbrutt
sale-state-failed = Feilet
sale-state-refunded = Refundert
sale-state-partially-refunded = Delvis refundert

## Admin
admin-set-pin-title = Velg en admin-PIN
admin-set-pin-hint = PIN-koden beskytter innstillinger og refusjoner. Bruk 4 til 8 sifre.
admin-pin-placeholder = Admin-PIN
admin-pin-repeat = Gjenta PIN
admin-set-pin = Lagre PIN
admin-pin-format = PIN-koden må ha 4 til 8 sifre.
admin-pin-mismatch = De to PIN-kodene er ikke like.
admin-locked-title = Admin: skriv PIN
admin-unlock = Lås opp
admin-pin-wrong = Feil PIN.
admin-lock = Lås
admin-section-connection = Tilkobling
admin-section-catalogue = Varekatalog
admin-section-language = Språk og MVA
admin-vipps = Vipps MobilePay
admin-env-test = Test
admin-env-production = Produksjon
admin-env-simulator = Simulator
admin-env-production-warning = Produksjon: ekte penger flyttes.
admin-simulator-url = Simulator-URL
admin-client-id = Client id
admin-client-secret = Client secret
admin-subscription-key = Subscription key
admin-msn = Salgsenhetens nummer (MSN)
admin-till = Denne kassen
admin-till-id = Kasse-id (a–z, 0–9)
admin-till-name = Kassenavn (vises i appen)
admin-merchant-qr-id = Merchant QR-id (tom: automatisk)
admin-mobilepay-beacon-id = MobilePay-klistremerke (beacon-id)
admin-mobilepay-beacon-hint = Danmark og Finland: beacon-id-en til et trykt MobilePay PoS-klistremerke som kassen svarer på i stedet for sin egen QR-kode. Reléet må kjenne kassen med samme id. Tomt: kassens egen QR-kode.
admin-one-time-qr-always = Vis en QR-kode for hver betaling (trenger ikke relé)
admin-currency = Valuta (NOK, DKK, EUR)
admin-relay = Relé
admin-relay-url = Relé-URL
admin-relay-token = Kassens token
admin-test-connection = Test tilkoblingen
admin-testing = Tester…
admin-check-token = Tilgangstoken
admin-check-qr = QR-API
admin-check-relay = Reléet svarer
admin-save = Lagre
admin-saved = Lagret. Kassen bruker de nye innstillingene.
admin-saved-demo = Lagret. Start Kasse på nytt for å bruke innstillingene; demoen kjører til da.
admin-save-failed = Ikke lagret: { $error }
admin-no-config-path = Systemet har ingen plass for konfigurasjonsfilen.
admin-demo-save-hint = Lagring skriver { $path }; start Kasse på nytt for å gå ut av demomodus.
admin-catalogue-title = Varekatalog ({ $count } varer)
admin-item-add = Ny vare
admin-item-edit = Endre
admin-item-delete = Slett
admin-item-edit-title = Endre vare
admin-item-new-title = Ny vare
admin-item-id = Id (varenummer)
admin-item-name = Navn
admin-item-price = Pris inkl. MVA
admin-item-vat = MVA-sats
admin-item-barcodes = Strekkoder (skilt med mellomrom)
admin-item-category = Kategori
admin-item-member-price = Medlemspris
admin-item-member-price-none = ingen
admin-item-member-price-short = medlem { $price }
admin-item-by-weight = Selges etter vekt (pris per kg)
admin-item-invalid = Ikke lagret: { $error }
admin-csv-title = Importer fra CSV
admin-csv-hint = Kolonner: id; name; price; vat; barcodes; category; unit. Alt importeres, eller ingenting.
admin-csv-import = Importer
admin-csv-done = Importerte { $count } varer.
admin-csv-failed = Ingenting importert: { $count } feil.
admin-vat-rates = MVA-satser
admin-vat-rates-hint = Satser i bruk i { $country }:

## Simulert telefon (demomodus)
phone-label = SIMULERT KUNDETELEFON
phone-app-name = Vipps (demo)
phone-home-hint = Spiller kunden: skann kassens QR-kode, og godkjenn.
phone-scan = Skann kassens QR
phone-show-my-qr = Vis min QR
phone-my-qr-hint = Kassereren skanner denne koden
phone-stop-relay = Demo: stopp reléet
phone-start-relay = Demo: start reléet
phone-scan-again = Skann på nytt
phone-waiting = Venter på butikken…
phone-request = Betalingsforespørsel
phone-approve = Godkjenn
phone-decline = Avvis
phone-approved = Godkjent ✓
phone-declined = Avvist
phone-login-code = Butikken viser også denne koden:
phone-error = Telefon: { $error }

## Meldinger fra betalingsmotoren (engine-<id>)
engine-unknown = Noe gikk galt.
engine-vipps-unreachable = Vipps svarer ikke akkurat nå.
engine-vipps-credentials = Vipps avviste kassens nøkler. Be admin sjekke innstillingene.
engine-config-invalid = Kassens innstillinger er ufullstendige eller feil. Spør admin.
engine-qr-setup-failed = Kassens QR-kode kunne ikke settes opp hos Vipps.
engine-storage-failed = Kassens database feilet. Ingenting mer ble sendt til Vipps.
engine-busy = Et salg pågår: fullfør eller avbryt det først.
engine-not-now = Ikke mulig akkurat nå.
engine-invalid-amount = Beløpet kan ikke betales med Vipps (tom kurv, eller for lite eller for stort).
engine-tender-refused = Denne delbetalingen ble avvist; ingenting er registrert.
engine-training-no-vipps = Treningsmodus: Vipps flytter ekte penger her, så ingen Vipps-betaling startes. Ta treningssalget med kontant eller kort.
engine-return-refused = Returen ble avvist; ingenting er registrert.
engine-invalid-phone = Vipps kjenner ikke dette telefonnummeret. Sjekk det og prøv igjen.
engine-no-scanned-customer = Kassen kjenner ikke nummeret til kunden som skannet. Send til et nummer du skriver inn i stedet.
engine-payment-rejected = Vipps avviste betalingsforespørselen.
engine-capture-mismatch = Betalingen ble ikke trukket i sin helhet. Be admin se på dette salget.
engine-capture-pending = Vipps har ikke bekreftet trekket ennå.
engine-cancel-pending = Vipps har ikke bekreftet avbrytelsen ennå.
engine-outcome-unknown = Betalingens status kunne ikke leses.
engine-too-late-to-cancel = For sent å avbryte: kunden har godkjent og beløpet trekkes.
engine-sale-not-found = Fant ikke et fullført salg med dette nummeret.
engine-refund-too-large = Det er mer enn det som er igjen å refundere.
engine-refund-rejected = Vipps avviste refusjonen.
engine-refund-pending = Refusjonen er lagret og blir prøvd igjen.
engine-amount-mismatch = Et beløp fra Vipps stemmer ikke med salget. Be admin se på det.
engine-rate-limited = Vipps begrenser kall for denne betalingen; Kasse prøver igjen straks.
engine-loyalty-off = Kundeklubben er slått av. En administrator slår den på i Admin.
engine-no-customer-to-invite = Ingen kunde å invitere: la kunden skanne kassens QR, eller skriv inn nummeret.
engine-invite-open = En invitasjon til dette nummeret pågår allerede. Vent til den er ferdig.
engine-relay-down-one-time-qr = Forbindelsen for skanning av kassens QR-kode er nede: viser en QR-kode for denne betalingen i stedet.
engine-beacon-conflict = Vipps avviste MobilePay-klistremerket: beacon-id-en er allerede koblet til en annen butikk eller salgsenhet, eller er en av denne salgsenhetens egne QR-id-er. Sjekk id-en i Admin, eller be eieren av klistremerket frigi det.
engine-invalid-personal-qr = Det er ikke en gyldig personlig QR-kode. Be kunden vise den igjen, eller skanne kassens QR-kode.

## Feil ved import av varekatalog (csv-*)
csv-empty = Filen er tom.
csv-missing-column = Første linje har ingen kolonne «{ $column }».
csv-empty-field = Linje { $line }: { $field } er tom.
csv-bad-price = Linje { $line }: «{ $value }» er ikke en pris.
csv-bad-vat = Linje { $line }: «{ $value }» er ikke en MVA-sats som brukes i dette landet.
csv-bad-unit = Linje { $line }: «{ $value }» er ikke en enhet (pcs eller kg).
csv-unclosed-quote = Linje { $line }: et felt i anførselstegn er ikke avsluttet.
csv-duplicate-id = Linje { $line }: id «{ $id }» er brukt før (første gang på linje { $first }).
csv-duplicate-barcode = Linje { $line }: strekkode «{ $barcode }» er brukt før (første gang på linje { $first }).
csv-invalid = Linje { $line }: { $detail }
csv-unreadable = Filen kan ikke leses: { $detail }
csv-not-stored = Varekatalogen kunne ikke lagres: { $detail }

## Tenders at the till
pay-cash = Kontant
pay-card = Bankterminal
pay-part-paid = Betalt med { $tender }: { $amount }
pay-change = Vekslepenger: { $amount }
pay-tender-left = Igjen å betale: { $amount }
pay-tender-exact = Eksakt beløp
pay-tender-take = Ta imot
pay-given-back = Gi tilbake til kunden: { $parts }
tender-vipps = Vipps MobilePay
tender-cash = Kontant
tender-card = Kort
tender-gift-card = Gavekort
tender-credit-note = Tilgodelapp
receipt-rounding = Øreavrunding

## Log-in, reports and drawer
login-who = Hvem er du?
login-pin = PIN-kode
login-lock-as = Lås ({ $name })
login-submit = Logg inn
login-demo-hint = Demo: kassereren «Demo» har PIN-kode 1234.
tab-reports = Rapporter
reports-title = Rapporter og skuff
reports-x = X-rapport (dagen så langt)
reports-z = Z-rapport (avslutt dagen)
reports-z-hint = Én gang per dag, av en leder, uten betaling i gang.
reports-training-on = Start treningsmodus
reports-training-off = Avslutt treningsmodus
reports-training-hint = En leder. Treningssalg telles for seg; Z-rapport, returer og kontantbevegelser venter til treningen er slutt.
reports-training-now-on = Treningsmodus er på.
reports-training-now-off = Treningsmodus er av.
reports-open-drawer = Åpne skuffen (uten salg)
reports-none = Ta en X-rapport for å se dagen så langt.
reports-drawer-opened = Skuffen ble åpnet (registrert).

## Returns from History
history-return-title = Returner varer
history-return-line = { $sold } solgt, { $returned } returnert
history-return = Returner valgte varer
history-return-done = Betalt tilbake { $amount }.
history-receipt-unknown = Ingen salg har det kvitteringsnummeret.

## Cash in and out of the drawer
reports-amount = Beløp (f.eks. 500)
reports-reason = Grunn (uttak)
reports-float = Vekselbeholdning
reports-count = Tell opp kassen
reports-pay-in = Innskudd
reports-pay-out = Uttak
reports-bad-amount = Skriv et beløp først (og en grunn for uttak).
reports-cash-recorded = Registrert.
reports-counted = Telt opp. Differanse mot forventet kontantbeholdning: { $difference }

## Printing
print-failed = Kvitteringen ble ikke skrevet ut ({ $error }); den ligger i kø: skriv den ut igjen fra Historikk.
reports-drawer-by-hand = Registrert. Ingen kvitteringsskriver er satt opp: åpne skuffen for hånd.history-print = Skriv ut kvitteringen (igjen: kopi)

## Admin: cashiers
admin-section-cashiers = Kasserere
admin-cashiers-title = Kasserere
admin-cashiers-none = Ingen kasserere ennå: kassen selger uten innlogging til du legger til en.
admin-cashier-role-cashier = Kasserer
admin-cashier-role-manager = Leder
admin-cashier-disable = Deaktiver
admin-cashier-disabled = Deaktivert
admin-cashier-add-title = Ny kasserer
admin-cashier-name = Navn
admin-cashier-pin = PIN-kode (4 til 8 sifre)
admin-cashier-manager = Leder (retur, skuff, Z-rapport, admin)
admin-cashier-add = Legg til kasserer
admin-cashier-not-yourself = Du kan ikke deaktivere deg selv mens du er logget inn.
reports-print = Skriv ut rapporten
reports-printed = Skrevet ut.

## Admin: receipts and printer
admin-receipts = Kvitteringer og skriver
admin-shop-name = Butikknavn på kvitteringen
admin-shop-org-nr = Organisasjonsnummer
admin-shop-address = Adresse (linjer skilt med komma)
admin-shop-logo = Logo (PNG-fil, skrives øverst på kvitteringene)
admin-printer = Kvitteringsskriver (tcp://VERT:9100, device:/dev/usb/lp0, file:STI, none)
admin-print-test-page = Skriv ut testside
admin-test-page-printed = Testsiden ble sendt til skriveren.

# Customer display
customer-welcome = Velkommen
customer-total = Totalt
customer-to-pay = Å betale
customer-scan = Skann QR-koden med Vipps eller MobilePay
customer-approve = Godkjenn betalingen i appen
customer-processing = Fullfører betalingen …
customer-not-paid = Betalingen gikk ikke gjennom. Spør i kassen.
customer-thanks = Takk!
customer-paid = Betalt
customer-change = Vekslepenger: { $amount }
customer-discount = Rabatt
customer-window-title = kundeskjerm
customer-display-toggle = Kundeskjerm av/på
admin-customer-display-open = Åpne kundeskjermen når kassen starter
admin-customer-display-fullscreen = Kundeskjerm i fullskjerm
admin-customer-display-at = Kundeskjermens plass x,y (skjermen dens; tom: hvor som helst)

# Loyalty (sale screen)
loyalty-member = Medlem: { $name } ({ $number })
loyalty-points = { $points } poeng
loyalty-not-member = Ikke medlem ({ $number })
loyalty-invite = Inviter til { $programme }
loyalty-code = Invitasjonen er sendt. Kunden ser denne koden i appen:
loyalty-declined = Kunden takket nei til å bli medlem. Salget fortsetter.
loyalty-expired = Invitasjonen gikk ut. Salget fortsetter.
loyalty-invalid-user = Dette nummeret kan ikke bli medlem med Vipps (ingen bruker, eller under 15). Salget fortsetter.
loyalty-old-app = Kundens app er for gammel til å bli medlem. Salget fortsetter.
loyalty-in-progress = En invitasjon venter allerede i kundens app. Prøv igjen om noen minutter.
loyalty-unverified = Svaret fra Vipps kunne ikke bekreftes, så medlemskapet ble ikke lagret. Inviter på nytt.
loyalty-failed = Invitasjonen kunne ikke fullføres. Inviter på nytt, eller fortsett salget.
loyalty-find = Finn medlem
loyalty-find-phone = Kundens telefonnummer
loyalty-find-submit = Finn

# Loyalty (Admin)
admin-section-loyalty = Kundeklubb
admin-loyalty-title = Kundeklubb
admin-loyalty-enabled = På (hver skanning sjekkes mot medlemmene)
admin-loyalty-programme = Navn på klubben
admin-loyalty-consent = Samtykketekst (som satt opp hos Vipps)
admin-loyalty-save = Lagre
admin-loyalty-saved = Lagret.
admin-member-discounts-title = Medlemsrabatt per kategori
admin-member-discounts-hint = Prosent avslag for medlemmer; tomt: ingen. En vares egen medlemspris (Varekatalog) går foran.
admin-member-discount-invalid = { $category }: en medlemsrabatt er en prosent fra 0,01 til 100.
admin-members-title = Medlemmer
admin-members-search = Søk på navn eller nummer
admin-members-none = Ingen medlemmer ennå.
admin-member-export = Eksporter
admin-member-erase = Slett
admin-member-erase-confirm = Slette for godt?
admin-member-exported = Eksportert til { $path }
admin-member-erased = Medlemmet er slettet. Salgene består, uten personopplysninger.
