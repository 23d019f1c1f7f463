// The /demo page: asks the server for a demo guest token (/demo/token), then
// books rooms with it through POST /bookings, as any guest client would.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  let guest = null;  // {token, guestId, hosts}

  async function fetchGuest() {
    const res = await fetch('/demo/token', { cache: 'no-store' });
    if (!res.ok) throw new Error('the server answered ' + res.status);
    guest = await res.json();
    $('guest').textContent = 'booking as ' + guest.guestId;
    return guest;
  }

  function day(date) {
    return date.toISOString().slice(0, 10);
  }

  // A stay of 1 to 3 nights starting 1 to 360 days from now: two visitors
  // rarely pick the same room and dates (which would be a 409).
  function pickDates() {
    const start = new Date();
    start.setUTCHours(0, 0, 0, 0);
    start.setUTCDate(start.getUTCDate() + 1 + Math.floor(Math.random() * 360));
    const end = new Date(start);
    end.setUTCDate(end.getUTCDate() + 1 + Math.floor(Math.random() * 3));
    $('check-in').value = day(start);
    $('check-out').value = day(end);
  }

  // One key per click: a retried request cannot book twice.
  function idempotencyKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function post(body, key) {
    return fetch('/bookings', {
      method: 'POST',
      cache: 'no-store',
      headers: { Authorization: 'Bearer ' + guest.token,
                 'Content-Type': 'application/json',
                 'Idempotency-Key': key },
      body: JSON.stringify(body),
    });
  }

  function show(kind, text) {
    const p = $('result');
    p.className = kind;
    p.textContent = text;
  }

  async function book(e) {
    e.preventDefault();
    const button = $('book');
    button.disabled = true;
    show('', 'Booking…');
    const body = {
      hostId: $('host').value,
      roomId: $('room').value,
      checkIn: $('check-in').value,
      checkOut: $('check-out').value,
      guests: Number($('guests').value),
    };
    const note = $('note').value.trim();
    if (note) body.note = note;
    try {
      let res = await post(body, idempotencyKey());
      if (res.status === 401) {  // the guest token expired: a new guest
        await fetchGuest();
        res = await post(body, idempotencyKey());
      }
      const doc = await res.json().catch(() => null);
      if (res.status === 201) {
        const b = doc.booking;
        show('ok', 'Booked ' + b.roomId + ' from ' + b.checkIn + ' to '
             + b.checkOut + ': ' + b.hostId + ' got notification #'
             + doc.notification.id + '.');
        pickDates();
      } else if (res.status === 409) {
        show('error', 'That room is already booked on those dates. Other '
             + 'dates are filled in: book again.');
        pickDates();
      } else {
        show('error', doc && doc.error ? doc.error.message
                                       : 'The server answered ' + res.status);
      }
    } catch {
      show('error', 'Cannot reach the server.');
    }
    button.disabled = false;
  }

  async function start() {
    $('form').addEventListener('submit', book);
    pickDates();
    try {
      await fetchGuest();
    } catch (err) {
      show('error', 'No demo guest: ' + err.message);
      return;
    }
    for (const host of guest.hosts) $('host').append(new Option(host, host));
    $('book').disabled = false;
  }

  start();
})();
