# Kasse till window: English.
# Arguments: { $amount } etc. are already formatted (money in the till's locale).

## Shared
common-close = Close

## Environment badges (status bar). Production must never look like test.
env-demo = DEMO · simulator, no real money
env-test = TEST · no real money
env-production = PRODUCTION · real payments
env-simulator = SIMULATOR · no real money

## Status bar
tab-sale = Sale
tab-history = History
tab-admin = Admin
status-relay-connected = Relay connected
status-relay-connecting = Relay connecting…
status-relay-reconnecting = Relay reconnecting (attempt { $attempt })
status-relay-not-configured = No relay: customers cannot scan
status-vipps-reachable = Vipps reachable
status-vipps-unreachable = Vipps not reachable
status-vipps-unknown = Vipps…
status-customer-waiting = Customer waiting
status-one-time-qr = One-time QR
status-engine-stopped = The payment engine has stopped. Restart the till.
status-settings-not-saved = The settings could not be saved: { $error }
status-recovered-unresolved = { $unresolved } unfinished payment(s) could not be settled yet; the till keeps trying.
demo-banner = Demo mode: a built-in Vipps simulator stands in for Vipps and no real money moves. Use the simulated phone on the right. To set up a real till: Admin → Connection.
training-banner = TRAINING MODE · no real money moves; receipts say "Treningskvittering". A manager ends it under Reports.

## Sale
sale-search-placeholder = Search or scan a barcode
sale-scanning = Scanning: { $code }
sale-unknown-barcode = Unknown barcode { $code }
sale-refused = Not possible: { $reason }
sale-category-all = All
sale-catalog-empty = The catalogue is empty. Add items in Admin → Catalogue (F4), or import a CSV file.
sale-no-items = No items match.
sale-price-per-kg = { $price } per kg
sale-basket = Basket
sale-basket-empty = Tap an item or scan a barcode.
sale-clear = Clear
sale-line-discount = discount { $amount }
sale-basket-discount = Discount on whole basket
sale-subtotal = Subtotal
sale-discount = Discount
sale-vat-line = VAT { $rate } of { $base }
sale-total = Total
sale-customer-waiting = A customer has scanned and is waiting: press Pay.
sale-not-this-customer = Not this customer
sale-pay = Pay { $amount }  (Enter)
sale-pay-empty = Pay
sale-discount-line-title = Discount on { $name }
sale-discount-basket-title = Discount on the whole basket
sale-discount-hint = Type a percentage (10 %) or an amount (25,00).
sale-discount-apply = Apply
sale-discount-remove = Remove discount
sale-discount-invalid = Type a percentage like 10 % or an amount like 25,00.
sale-weight-title = Weight in kg
sale-weight-add = Add
sale-weight-invalid = Type the weight in kg, e.g. 0,350.

## Pay
pay-to-pay = To pay
pay-amount = Amount { $amount }
pay-scan-hint = Scan with the Vipps or MobilePay app
pay-qr-missing = The till's QR is not ready yet. Check the status bar, or send the payment to the customer's phone number.
pay-progress = Payment
pay-step-waiting = Waiting for the customer to scan
pay-step-checked-in = Customer scanned: sending the request
pay-step-request-sent = Request sent to the customer's phone
pay-step-approved = Approved by the customer
pay-step-captured = Payment received
pay-reference = Vipps reference: { $reference }
pay-retrying = The till keeps trying.
pay-cancelling = Cancelling… the basket opens again when Vipps confirms.
pay-send-to-phone = Send to phone number (F8)
pay-one-time-qr = Show a QR for this payment
pay-one-time-hint = A QR for this payment only: scan it with the camera or the Vipps or MobilePay app
pay-one-time-expires = Valid for { $time } more
pay-one-time-relay-down = The relay is unreachable, so the till's own QR would not work. It comes back when the relay does.
pay-cancel = Cancel (Esc)
pay-retry = Try again (F5)
pay-back-to-basket = Back to basket (Esc)
pay-declined-title = Declined
pay-declined-next = The customer declined in the app. Try again, or take another payment method.
pay-expired-title = No answer
pay-expired-next = The customer did not answer in time. Try again and ask them to check the app.
pay-token-expired-title = Scan again
pay-token-expired-next = The customer's scan is too old. Ask them to scan the QR again, then try again.
pay-send-to-scanned = Send to { $number }
pay-push-not-allowed-title = Push payments not enabled
pay-push-not-allowed-next = Vipps MobilePay has not enabled push payments for this shop. Ask the admin to contact Vipps MobilePay; meanwhile take another payment method.
pay-cancelled-title = Cancelled
pay-cancelled-next = No money was taken. Go back to the basket or try again.
pay-cancelled-released = The reserved amount was released to the customer. Go back to the basket or try again.
pay-failed-title = Payment not possible
pay-failed-next = Try again, or go back to the basket.
pay-phone-title = Send to phone number
pay-phone-hint = The customer gets the payment request in their app.
pay-phone-send = Send request

## Receipt
receipt-title = Receipt
receipt-sale = Sale { $sale }
receipt-reference = Vipps reference: { $reference }
receipt-paid = Paid { $amount } ✓
receipt-new-sale = New sale (Enter)

## History
history-title = Today's sales
history-refresh = Refresh
history-loading = Loading…
history-empty = No sales today yet.
history-pick = Tap a sale to see it.
history-sale = Sale { $sale }
history-captured = Received
history-refunded = Refunded
history-refunded-amount = { $amount } refunded
history-refund = Refund…
history-nothing-to-refund = Nothing left to refund.
history-refund-max = Up to { $amount } can be refunded.
history-refund-amount = Amount to refund
history-refund-all = All
history-refund-confirm = Refund (admin PIN)
history-refund-pending = Refunding…
history-refund-done = Refunded { $amount } ✓
history-refund-bad-amount = Type an amount above zero and not more than what is left.
sale-state-open = Open
sale-state-awaiting-check-in = Waiting for scan
sale-state-payment-requested = Request sent
sale-state-authorized = Approved
sale-state-capturing = Capturing
sale-state-completed = Paid
sale-state-declined = Declined
sale-state-expired = Expired
sale-state-cancelling = Cancelling
sale-state-cancelled = Cancelled
sale-state-failed = Failed
sale-state-refunded = Refunded
sale-state-partially-refunded = Partly refunded

## Admin
admin-set-pin-title = Choose an admin PIN
admin-set-pin-hint = The PIN protects the settings and refunds. Use 4 to 8 digits.
admin-pin-placeholder = Admin PIN
admin-pin-repeat = Repeat the PIN
admin-set-pin = Save PIN
admin-pin-format = The PIN must be 4 to 8 digits.
admin-pin-mismatch = The two PINs are not the same.
admin-locked-title = Admin: enter the PIN
admin-unlock = Unlock
admin-pin-wrong = Wrong PIN.
admin-lock = Lock
admin-section-connection = Connection
admin-section-catalogue = Catalogue
admin-section-language = Language and VAT
admin-vipps = Vipps MobilePay
admin-env-test = Test
admin-env-production = Production
admin-env-simulator = Simulator
admin-env-production-warning = Production: real money moves.
admin-simulator-url = Simulator URL
admin-client-id = Client id
admin-client-secret = Client secret
admin-subscription-key = Subscription key
admin-msn = Merchant serial number (MSN)
admin-till = This till
admin-till-id = Till id (a–z, 0–9)
admin-till-name = Till name (shown in the app)
admin-merchant-qr-id = Merchant QR id (empty: automatic)
admin-mobilepay-beacon-id = MobilePay sticker (beacon id)
admin-mobilepay-beacon-hint = Denmark and Finland: the beacon id of a printed MobilePay PoS sticker this till answers to instead of its own QR. The relay must know the till by the same id. Empty: the till's own QR.
admin-one-time-qr-always = Show a QR for each payment (needs no relay)
admin-currency = Currency (NOK, DKK, EUR)
admin-relay = Relay
admin-relay-url = Relay URL
admin-relay-token = Till token
admin-test-connection = Test connection
admin-testing = Testing…
admin-check-token = Access token
admin-check-qr = QR API
admin-check-relay = Relay reachable
admin-save = Save
admin-saved = Saved. The till uses the new settings.
admin-saved-demo = Saved. Restart Kasse to use these settings; the demo runs until then.
admin-save-failed = Not saved: { $error }
admin-no-config-path = There is no configuration file path on this system.
admin-demo-save-hint = Saving writes { $path }; restart Kasse to leave demo mode.
admin-catalogue-title = Catalogue ({ $count } items)
admin-item-add = Add item
admin-item-edit = Edit
admin-item-delete = Delete
admin-item-edit-title = Edit item
admin-item-new-title = New item
admin-item-id = Id (SKU)
admin-item-name = Name
admin-item-price = Price incl. VAT
admin-item-vat = VAT rate
admin-item-barcodes = Barcodes (separated by spaces)
admin-item-category = Category
admin-item-member-price = Member price
admin-item-member-price-none = none
admin-item-member-price-short = member { $price }
admin-item-by-weight = Sold by weight (price per kg)
admin-item-invalid = Not saved: { $error }
admin-csv-title = Import from CSV
admin-csv-hint = Columns: id; name; price; vat; barcodes; category; unit. Everything is imported or nothing.
admin-csv-import = Import
admin-csv-done = Imported { $count } items.
admin-csv-failed = Nothing imported: { $count } problem(s).
admin-vat-rates = VAT rates
admin-vat-rates-hint = Rates in use in { $country }:

## Simulated phone (demo mode)
phone-label = SIMULATED CUSTOMER PHONE
phone-app-name = Vipps (demo)
phone-home-hint = Plays the customer: scan the till's QR, then approve.
phone-scan = Scan the till's QR
phone-show-my-qr = Show my QR
phone-my-qr-hint = The cashier scans this code
phone-stop-relay = Demo: stop the relay
phone-start-relay = Demo: start the relay
phone-scan-again = Scan again
phone-waiting = Waiting for the shop…
phone-request = Payment request
phone-approve = Approve
phone-decline = Decline
phone-approved = Approved ✓
phone-declined = Declined
phone-login-code = The shop shows this code too:
phone-error = Phone: { $error }

## Engine messages (engine-<id>)
engine-unknown = Something went wrong.
engine-vipps-unreachable = Vipps does not answer right now.
engine-vipps-credentials = Vipps refused the till's credentials. Ask the admin to check the settings.
engine-config-invalid = The till's settings are incomplete or wrong. Ask the admin.
engine-qr-setup-failed = The till's QR could not be set up at Vipps.
engine-storage-failed = The till's database failed. Nothing more was sent to Vipps.
engine-busy = A sale is in progress: finish or cancel it first.
engine-not-now = Not possible right now.
engine-invalid-amount = The amount cannot be paid with Vipps (empty basket, or too small or too large).
engine-tender-refused = That part of the payment was refused; nothing was recorded.
engine-training-no-vipps = Training mode: Vipps moves real money here, so no Vipps payment is started. Take the training sale in cash or by card.
engine-return-refused = That return was refused; nothing was recorded.
engine-invalid-phone = Vipps does not know this phone number. Check it and try again.
engine-no-scanned-customer = No customer's number is known from the scan. Send to a typed number instead.
engine-payment-rejected = Vipps rejected the payment request.
engine-capture-mismatch = The payment was not captured in full. Ask the admin to look at this sale.
engine-capture-pending = Vipps has not confirmed the capture yet.
engine-cancel-pending = Vipps has not confirmed the cancel yet.
engine-outcome-unknown = The payment's state could not be read.
engine-too-late-to-cancel = Too late to cancel: the customer has approved and the payment is being taken.
engine-sale-not-found = No such completed sale.
engine-refund-too-large = That is more than what is left to refund.
engine-refund-rejected = Vipps rejected the refund.
engine-refund-pending = The refund is stored and will be retried.
engine-amount-mismatch = An amount from Vipps does not match the sale. Ask the admin to look at it.
engine-rate-limited = Vipps is limiting calls for this payment; Kasse retries shortly.
engine-loyalty-off = Loyalty is off. An admin turns it on in Admin.
engine-no-customer-to-invite = No customer to invite: let the customer scan the till's QR, or type their number.
engine-invite-open = An invitation for this number is already open. Wait for it to end.
engine-relay-down-one-time-qr = The connection for scans of the till's QR is down: showing a QR for this payment instead.
engine-beacon-conflict = Vipps refused the MobilePay sticker: its beacon id is already mapped to another shop or sales unit, or it is one of this sales unit's own QR ids. Check the id in Admin, or ask the MobilePay sticker's owner to release it.
engine-invalid-personal-qr = That is not a valid personal QR. Ask the customer to show it again, or to scan the till's QR.

## Catalogue import problems (csv-*)
csv-empty = The file is empty.
csv-missing-column = The first line has no “{ $column }” column.
csv-empty-field = Line { $line }: { $field } is empty.
csv-bad-price = Line { $line }: “{ $value }” is not a price.
csv-bad-vat = Line { $line }: “{ $value }” is not a VAT rate used in this country.
csv-bad-unit = Line { $line }: “{ $value }” is not a unit (pcs or kg).
csv-unclosed-quote = Line { $line }: a quoted field is not closed.
csv-duplicate-id = Line { $line }: id “{ $id }” is used again (first on line { $first }).
csv-duplicate-barcode = Line { $line }: barcode “{ $barcode }” is used again (first on line { $first }).
csv-invalid = Line { $line }: { $detail }
csv-unreadable = The file cannot be read: { $detail }
csv-not-stored = The catalogue could not be stored: { $detail }

## Tenders at the till
pay-cash = Cash
pay-card = Card terminal
pay-part-paid = Paid by { $tender }: { $amount }
pay-change = Change: { $amount }
pay-tender-left = Left to pay: { $amount }
pay-tender-exact = Exact amount
pay-tender-take = Take
pay-given-back = Give back to the customer: { $parts }
tender-vipps = Vipps MobilePay
tender-cash = Cash
tender-card = Card
tender-gift-card = Gift card
tender-credit-note = Credit note
receipt-rounding = Cash rounding

## Log-in, reports and drawer
login-who = Who are you?
login-pin = PIN
login-lock-as = Lock ({ $name })
login-submit = Log in
login-demo-hint = Demo: the cashier "Demo" has PIN 1234.
tab-reports = Reports
reports-title = Reports and drawer
reports-x = X report (the day so far)
reports-z = Z report (close the day)
reports-z-hint = Once a day, by a manager, with no payment in progress.
reports-training-on = Start training mode
reports-training-off = End training mode
reports-training-hint = A manager. Training sales are counted apart; the Z report, returns and cash movements wait until training ends.
reports-training-now-on = Training mode is on.
reports-training-now-off = Training mode is off.
reports-open-drawer = Open the drawer (no sale)
reports-none = Take an X report to see the day so far.
reports-drawer-opened = The drawer was opened (recorded).

## Returns from History
history-return-title = Return lines
history-return-line = { $sold } sold, { $returned } returned
history-return = Return the chosen lines
history-return-done = Paid back { $amount }.
history-receipt-unknown = No sale has that receipt number.

## Cash in and out of the drawer
reports-amount = Amount (e.g. 500)
reports-reason = Reason (pay-out)
reports-float = Opening float
reports-count = Count the cash
reports-pay-in = Pay in
reports-pay-out = Pay out
reports-bad-amount = Type an amount first (and a reason for a pay-out).
reports-cash-recorded = Recorded.
reports-counted = Counted. Difference to the expected cash: { $difference }

## Printing
print-failed = The receipt did not print ({ $error }); it stays queued: print it again from History.
reports-drawer-by-hand = Recorded. No receipt printer is set up: open the drawer by hand.history-print = Print the receipt (again: a copy)

## Admin: cashiers
admin-section-cashiers = Cashiers
admin-cashiers-title = Cashiers
admin-cashiers-none = No cashiers yet: the till sells without a log-in until you add one.
admin-cashier-role-cashier = Cashier
admin-cashier-role-manager = Manager
admin-cashier-disable = Disable
admin-cashier-disabled = Disabled
admin-cashier-add-title = New cashier
admin-cashier-name = Name
admin-cashier-pin = PIN (4 to 8 digits)
admin-cashier-manager = Manager (refunds, drawer, Z report, admin)
admin-cashier-add = Add cashier
admin-cashier-not-yourself = You cannot disable yourself while logged in.
reports-print = Print the report
reports-printed = Printed.

## Admin: receipts and printer
admin-receipts = Receipts and printer
admin-shop-name = Shop name on receipts
admin-shop-org-nr = Organisation number
admin-shop-address = Address (lines separated by commas)
admin-shop-logo = Logo (PNG file, printed at the top of receipts)
admin-printer = Receipt printer (tcp://HOST:9100, device:/dev/usb/lp0, file:PATH, none)
admin-print-test-page = Print test page
admin-test-page-printed = The test page was sent to the printer.

# Customer display
customer-welcome = Welcome
customer-total = Total
customer-to-pay = To pay
customer-scan = Scan the QR code with Vipps or MobilePay
customer-approve = Approve the payment in the app
customer-processing = Completing the payment…
customer-not-paid = The payment did not go through. Please ask at the till.
customer-thanks = Thank you!
customer-paid = Paid
customer-change = Your change: { $amount }
customer-discount = Discount
customer-window-title = customer display
customer-display-toggle = Customer display on/off
admin-customer-display-open = Open the customer display when the till starts
admin-customer-display-fullscreen = Customer display full screen
admin-customer-display-at = Customer display position x,y (its monitor; empty: anywhere)

# Loyalty (sale screen)
loyalty-member = Member: { $name } ({ $number })
loyalty-points = { $points } points
loyalty-not-member = Not a member ({ $number })
loyalty-invite = Invite to { $programme }
loyalty-code = Invitation sent. The customer sees this code in the app:
loyalty-declined = The customer said no to joining. The sale goes on.
loyalty-expired = The invitation expired. The sale goes on.
loyalty-invalid-user = This number cannot join with Vipps (no user, or under 15). The sale goes on.
loyalty-old-app = The customer's app is too old to join. The sale goes on.
loyalty-in-progress = An invitation is already waiting in the customer's app. Try again in a few minutes.
loyalty-unverified = Vipps' answer could not be verified, so no membership was stored. Invite again.
loyalty-failed = The invitation could not be completed. Invite again, or go on with the sale.
loyalty-find = Find member
loyalty-find-phone = Customer's phone number
loyalty-find-submit = Find

# Loyalty (Admin)
admin-section-loyalty = Loyalty
admin-loyalty-title = Loyalty programme
admin-loyalty-enabled = On (each scan is checked against the members)
admin-loyalty-programme = Programme name
admin-loyalty-consent = Consent text (as configured at Vipps)
admin-loyalty-save = Save
admin-loyalty-saved = Saved.
admin-member-discounts-title = Member discount per category
admin-member-discounts-hint = Percent off for members; empty: none. An item's own member price (Catalogue) wins.
admin-member-discount-invalid = { $category }: a member discount is a percentage from 0,01 to 100.
admin-members-title = Members
admin-members-search = Search by name or number
admin-members-none = No members yet.
admin-member-export = Export
admin-member-erase = Delete
admin-member-erase-confirm = Delete for good?
admin-member-exported = Exported to { $path }
admin-member-erased = Member deleted. Their sales stay, without personal data.
