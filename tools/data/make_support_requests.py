#!/usr/bin/env python3
"""Build libs/strata-data/samples/support_requests.parquet: short customer-support requests in four
topics (billing, account, shipping, technical), written by hand for the strata project and
released with it under Apache-2.0. Columns: `text` (utf8), `topic` (utf8 class name).

    python3 tools/data/make_support_requests.py
"""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "libs/strata-data/samples/support_requests.parquet"

BILLING = """
I was charged twice for my subscription this month
Why is there an extra fee on my latest invoice?
Please refund the payment I made by mistake
My credit card was billed after I cancelled
Can I get a copy of last month's invoice?
How do I change the card you charge every month?
The discount code was not applied to my order total
I need a VAT receipt for my company's accounts
You took the money but my plan still shows as free
Can I switch from monthly to yearly billing?
Your pricing page says 9 dollars but I paid 12
Please cancel my subscription and stop charging me
The payment keeps failing even though my card is valid
I want to dispute a charge from March
How long does a refund take to show on my statement?
Is there a student discount on the premium plan?
My invoice has the wrong company name and address
I was charged in euros but I live in the US
Do you accept PayPal or bank transfer?
The trial ended and I was billed without any warning
Please remove the auto-renewal from my account
Why did my bill go up this month?
I need to update the billing email for invoices
Can you split the payment into instalments?
My bank shows a pending charge from you I don't recognise
I upgraded by accident, can I get the difference back?
Where can I download all my past receipts?
The promo price expired and nobody told me
I paid for a year but you only gave me one month
Can you send the invoice to our finance team directly?
I got a refund for the wrong amount
The checkout added sales tax twice
How do I add a purchase order number to my invoice?
My payment method was declined, what should I do?
Is there a fee for cancelling early?
I'd like a partial refund for the days the service was down
Please stop sending me payment reminders, I already paid
Can I pay for several team seats on one bill?
The price in the app store differs from your website
I was charged for a plan I never signed up for
How do I get a credit note for the returned items?
Your system billed my old card that I closed
Can I change the currency I'm billed in?
When will my next payment be taken?
I need an itemised invoice for my expense report
The coupon says invalid although it has not expired
Please explain the charge labelled service fee
Do you offer refunds on annual plans?
My subscription renewed at a higher price without notice
I want to downgrade to the cheaper plan from next month
Charged three times for one order, please fix this
How do I claim the money back for the cancelled order?
The invoice total does not match the order confirmation
Can I use a gift card together with my credit card?
Why was my refund sent to a different card?
I need to change the tax ID on all my invoices
Is the price shown including VAT or not?
You still charge me for a seat of an employee who left
Please confirm that my cancellation stopped future payments
My direct debit failed, how can I pay the outstanding amount?
""".strip().splitlines()

ACCOUNT = """
I can't log in to my account
The password reset email never arrives
My account got locked after too many attempts
How do I change the email address on my profile?
I forgot my username, can you help?
Two-factor codes from my authenticator are rejected
I lost my phone and can't get the login code
Please delete my account and all my personal data
Someone else logged into my account, I think I was hacked
How do I add a colleague to our team workspace?
I want to merge two accounts I created by mistake
The sign up form says my email is already taken
How can I turn on two-step verification?
I need to transfer account ownership to my manager
My profile picture won't update
The reset link says it has expired
Can I log in with Google instead of a password?
I changed my name and want it updated on the account
My account was suspended and I don't know why
How do I remove a former employee from our organisation?
I keep getting logged out every few minutes
The verification email went to an old address
How do I change my password?
I can't find where to update my phone number
Single sign-on with our company directory stopped working
Please unlock my account, I verified my identity
Can I have two users share one login?
I never received the invitation to join my team
How do I download a copy of my personal data?
My account shows someone else's name
I want to close my account but keep my invoices
The security question answers are not accepted
Where do I manage which devices are signed in?
The app says my session is invalid on every start
I want to change the admin of our workspace
I signed up with the wrong email address
Can you reactivate my deleted account?
How do I leave a team I was invited to?
My login works on the website but not in the mobile app
I get an error that my password is too weak
Please change my account from personal to business
I want to stop receiving newsletters to my account email
Can I set a different language for my profile?
My recovery codes are not working
How do I give read-only access to an auditor?
The login page keeps asking me to verify I'm human
I have two accounts and can't tell which one I use
Someone changed my password without my permission
How do I update the time zone on my profile?
My employer asked me to link my account to their SSO
I can't sign in since you changed the login page
Can I rename my username?
The account settings page won't save my changes
I don't recognise a login from another country
How do I revoke access for an old API key?
My child created an account, please remove it
I need to change the owner email for billing and login
The invite link says the team does not exist
How do I switch between my two organisations?
I want to reset my account to start from scratch
""".strip().splitlines()

SHIPPING = """
My package hasn't arrived yet
The tracking number doesn't work
Where is my order? It's been two weeks
The parcel was delivered to the wrong address
Can I change the delivery address for my order?
My order arrived damaged
The box was missing one of the items
How much does express shipping cost?
Do you ship to Canada?
The courier says delivered but I got nothing
Can I pick up my order from a store instead?
I need to return an item, how do I send it back?
My order is stuck in customs
The delivery window keeps being postponed
Can I get the parcel left with a neighbour?
I received someone else's order
How long does standard delivery take?
The driver never rang the bell and left a note
Can you resend the order that was lost in transit?
I want to cancel my order before it ships
The tracking page hasn't updated in five days
Do you offer free shipping over a certain amount?
I need the order delivered before Friday
The return label you sent does not print
The package was left in the rain and got soaked
Can I combine two orders into one shipment?
My order shows shipped but the carrier has no record
Which courier do you use for international orders?
I was asked to pay import duties on delivery
The item I got is a different colour than I ordered
Can I schedule the delivery for the weekend?
I moved house, please update the shipping address
Only half of my order has arrived
How do I track a return I sent last week?
My parcel went back to the warehouse
The delivery person was rude and threw the box
Can you ship to a PO box?
I ordered the wrong size and need an exchange
When will the backordered item ship?
The estimated delivery date has passed
The package arrived open and things are missing
Can I add an item to an order that is already packed?
My order was marked undeliverable
The pickup point closed before I could collect my parcel
How much does it cost to return a large item?
I haven't received a shipping confirmation email
The wrong quantity was delivered
My parcel is sitting at the depot, how do I collect it?
Do you deliver on public holidays?
Please send a replacement for the broken glass
The courier asked for a code I never received
Can I change the shipping method to express after ordering?
The item was sent to my old address
The order arrived late and I no longer need it
The box was crushed and the product is dented
Do you ship batteries abroad?
My return was received but I have no refund confirmation yet
Tracking says out for delivery since yesterday morning
The gift wrapping I paid for was not included
Can I have the parcel delivered to my office?
""".strip().splitlines()

TECHNICAL = """
The app crashes when I open it
I get a 500 error when uploading a file
The website is very slow today
Export to CSV produces an empty file
The mobile app freezes on the loading screen
Notifications stopped working after the update
The search returns no results even for exact names
The dashboard charts don't load in Firefox
I get a timeout when calling your API
Sync between my laptop and phone is broken
The app drains my battery in the background
Images fail to upload larger than 5 MB
The page shows a blank screen after I click save
Your API returns 429 too many requests though I'm under the limit
The desktop client won't install on Windows 11
Dark mode makes some text unreadable
The calendar integration duplicates every event
Video playback stutters and then stops
The app says no internet connection but my wifi works
Webhooks are not being delivered to our endpoint
The import fails with an unknown format error
My changes are not saved when I edit offline
The editor loses formatting when I paste text
Push notifications arrive hours late
The app is stuck on an old version and won't update
Scrolling in the list is laggy on Android
The PDF preview shows garbled characters
Your server returns an SSL certificate error
Keyboard shortcuts stopped working in the latest release
The report generation never finishes
The API documentation example returns a 400 error
Attachments are corrupted after download
The app crashes when I rotate my tablet
Screen reader does not read the menu buttons
The integration with Slack disconnected by itself
The data in the table doesn't match the export
Buttons overlap on small screens
Our automation script broke after your API change
The app asks for camera permission and then crashes
Search filters reset every time I go back
The upload progress bar hangs at 99 percent
Emails from the app land in spam
The desktop app uses all my memory
I can't connect the app to my printer
The dashboard shows yesterday's data only
The browser extension stopped working in Chrome
A bug duplicates rows when I sort the table
The login screen flickers and the app closes
Audio is out of sync in recorded calls
The map view doesn't load in the app
CSV import mixes up the date format
Your status page says all is fine but nothing loads
The font size setting has no effect
The app shows an error code E42 on start
I lost my draft when the app restarted
Uploading from the iPhone app gives a network error
The share link opens a 404 page
The app is extremely slow since the last update
The copy button does nothing in Safari
Our SDK build fails with the new version of your library
""".strip().splitlines()

TOPICS = {"billing": BILLING, "account": ACCOUNT, "shipping": SHIPPING, "technical": TECHNICAL}


def main() -> None:
    if os.environ.get("STRATA_IN_VENV") != "1":
        venv = ROOT / ".cache/venv-data"
        if not (venv / ".complete").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "pyarrow==26.0.1"],
                           check=True)
            (venv / ".complete").touch()
        env = dict(os.environ, STRATA_IN_VENV="1")
        sys.exit(subprocess.run([str(venv / "bin/python"), __file__], env=env).returncode)

    import pyarrow as pa
    import pyarrow.parquet as pq

    texts, topics = [], []
    for topic, lines in TOPICS.items():
        lines = [l.strip() for l in lines if l.strip()]
        assert len(set(lines)) == len(lines), f"duplicate request in {topic}"
        texts += lines
        topics += [topic] * len(lines)
    # Interleave topics so the file order carries no label information.
    order = sorted(range(len(texts)), key=lambda i: hashlib.sha256(texts[i].encode()).hexdigest())
    table = pa.table({"text": pa.array([texts[i] for i in order], pa.string()),
                      "topic": pa.array([topics[i] for i in order], pa.string())})
    pq.write_table(table, OUT, compression="snappy")
    counts = {t: topics.count(t) for t in TOPICS}
    print(f"wrote {OUT.relative_to(ROOT)} rows={table.num_rows} {counts}")
    print("sha256", hashlib.sha256(OUT.read_bytes()).hexdigest())


if __name__ == "__main__":
    main()
