// Pure pieces of the ONVIF driver: the hardened XML parser, the UsernameToken digest
// (ONVIF Application Programmer's Guide vector), HTTP Digest (RFC 2617 §3.5 vector),
// SOAP fault decoding, topic normalisation and the event table.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { normaliseTopic, parseNotification } from '../../drivers/onvif/client.js';
import { EventNormaliser, parseBool } from '../../drivers/onvif/events.js';
import { digestAuthorization, parseChallenge } from '../../drivers/onvif/snapshot.js';
import { faultFrom, passwordDigest, securityHeader } from '../../drivers/onvif/soap.js';
import { sweepTargets } from '../../drivers/onvif/discovery.js';
import { child, parseXml, XmlSecurityError, XmlSyntaxError } from '../../drivers/onvif/xml.js';

describe('xml parser', () => {
  test('namespaces, attributes, entities, CDATA, comments', () => {
    const d = parseXml(
      '<?xml version="1.0"?><!-- c --><e:A xmlns:e="urn:e" xmlns="urn:d" x=\'1 &amp; 2\'><B y="&#x41;&#66;">a &lt;b&gt; <![CDATA[<raw>&amp;]]></B><e:C/></e:A>',
    );
    assert.equal(d.name, 'A');
    assert.equal(d.ns, 'urn:e');
    assert.equal(d.attrs.x, '1 & 2');
    const b = child(d, 'B')!;
    assert.equal(b.ns, 'urn:d');
    assert.equal(b.attrs.y, 'AB');
    assert.equal(b.text, 'a <b> <raw>&amp;');
    assert.equal(child(d, 'C')!.ns, 'urn:e');
  });

  test('refuses DTDs, undeclared entities, and enforces limits', () => {
    assert.throws(() => parseXml('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'), XmlSecurityError);
    assert.throws(() => parseXml('<a>&x;</a>'), XmlSecurityError);
    assert.throws(() => parseXml('<a>&lt</a>'), XmlSyntaxError);
    assert.throws(() => parseXml('<a>'.repeat(100) + '</a>'.repeat(100), { maxDepth: 64 }), /nested deeper/);
    assert.throws(() => parseXml(`<a>${'<b/>'.repeat(20)}</a>`, { maxNodes: 10 }), /more than 10 elements/);
    assert.throws(() => parseXml(`<a>${'x'.repeat(2000)}</a>`, { maxBytes: 1000 }), /cap/);
    assert.throws(() => parseXml('<a><b></a></b>'), XmlSyntaxError);
    assert.throws(() => parseXml('<a></a><b/>'), XmlSyntaxError);
    assert.throws(() => parseXml('<a x="1" x="2"/>'), XmlSyntaxError);
    assert.throws(() => parseXml('<a>&#0;</a>'), XmlSyntaxError);
  });
});

describe('auth', () => {
  test('PasswordDigest matches the ONVIF programmer guide example', () => {
    assert.equal(passwordDigest(Buffer.from('LKqI6G/AikKCQrN0zqZFlg==', 'base64'), '2010-09-16T07:50:45Z', 'userpassword'), 'tuOSpGlFlIXsozq4HFNeeGeFLEI=');
    const h = securityHeader({ username: 'a<b', password: 'p' }, new Date('2010-09-16T07:50:45.123Z'), Buffer.alloc(16));
    assert.match(h, /<wsu:Created>2010-09-16T07:50:45Z<\/wsu:Created>/);
    assert.match(h, /<wsse:Username>a&lt;b<\/wsse:Username>/);
  });

  test('HTTP Digest matches RFC 2617 §3.5', () => {
    const ch = parseChallenge('Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"');
    assert.equal(ch.scheme, 'digest');
    const a = digestAuthorization({ method: 'GET', uri: '/dir/index.html', username: 'Mufasa', password: 'Circle Of Life', challenge: ch.params, cnonce: '0a4f113b', nc: 1 });
    assert.match(a, /response="6629fae49393a05397450978507c4ef1"/);
    assert.match(a, /opaque="5ccc069c403ebaf9f0171e9517f40e41"/);
  });

  test('SOAP 1.2 fault with nested subcodes; auth classification', () => {
    const f = parseXml(
      '<env:Fault xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code><env:Reason><env:Text xml:lang="en">Sender not Authorized</env:Text></env:Reason></env:Fault>',
    );
    const e = faultFrom(f, 400);
    assert.equal(e.code, 'env:Sender');
    assert.deepEqual(e.subcodes, ['ter:NotAuthorized']);
    assert.equal(e.isAuth, true);
    assert.equal(faultFrom(parseXml('<Fault><Code><Value>Sender</Value><Subcode><Value>wsrf-rw:ResourceUnknownFault</Value></Subcode></Code></Fault>'), 400).isAuth, false);
  });
});

describe('events', () => {
  const msg = (topic: string, data: Record<string, string>, op = 'Changed', prefixDecl = 'xmlns:tns1="http://www.onvif.org/ver10/topics"') =>
    parseNotification(
      parseXml(
        `<wsnt:NotificationMessage xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2" xmlns:tt="http://www.onvif.org/ver10/schema" ${prefixDecl}>` +
          `<wsnt:Topic Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">${topic}</wsnt:Topic><wsnt:Message>` +
          `<tt:Message UtcTime="2024-05-01T10:00:00Z" PropertyOperation="${op}"><tt:Source><tt:SimpleItem Name="Source" Value="vs1"/></tt:Source>` +
          `<tt:Data>${Object.entries(data).map(([k, v]) => `<tt:SimpleItem Name="${k}" Value="${v}"/>`).join('')}</tt:Data></tt:Message></wsnt:Message></wsnt:NotificationMessage>`,
      ),
    );

  test('topic prefixes resolve by namespace, not by spelling', () => {
    assert.deepEqual(normaliseTopic('x:VideoSource/MotionAlarm', new Map([['x', 'http://www.onvif.org/ver10/topics']])), { topic: 'tns1:VideoSource/MotionAlarm', onvifPath: 'VideoSource/MotionAlarm' });
    assert.equal(normaliseTopic('tnsaxis:CameraApplicationPlatform/VMD', new Map([['tnsaxis', 'http://www.axis.com/2009/event/topics']])).onvifPath, '');
    assert.equal(msg('ns9:Device/Trigger/DigitalInput', { LogicalState: 'true' }, 'Changed', 'xmlns:ns9="http://www.onvif.org/ver10/topics"').onvifPath, 'Device/Trigger/DigitalInput');
  });

  test('table: motion, tamper, signal, input; field variants; edges only', () => {
    const n = new EventNormaliser();
    assert.equal(n.normalise(msg('tns1:VideoSource/MotionAlarm', { State: 'false' }, 'Initialized')), null, 'idle baseline');
    assert.equal(n.normalise(msg('tns1:VideoSource/MotionAlarm', { State: 'true' }))?.type, 'video.motion.start');
    assert.equal(n.normalise(msg('tns1:VideoSource/MotionAlarm', { State: 'true' })), null, 'repeat');
    assert.equal(n.normalise(msg('tns1:VideoSource/MotionAlarm', { State: 'false' }))?.type, 'video.motion.end');
    assert.equal(n.normalise(msg('tns1:RuleEngine/CellMotionDetector/Motion', { IsMotion: '1' }))?.type, 'video.motion.start');
    assert.equal(n.normalise(msg('tns1:VideoSource/GlobalSceneChange/ImagingService', { State: 'true' }))?.type, 'video.tamper.detected');
    assert.equal(n.normalise(msg('tns1:VideoSource/ImageTooDark/AnalyticsService', { State: 'true' }))?.severity, 'alarm');
    assert.equal(n.normalise(msg('tns1:VideoSource/SignalLoss', { State: 'true' }))?.type, 'video.signal.lost');
    assert.equal(n.normalise(msg('tns1:Device/Trigger/DigitalInput', { LogicalState: 'true' }))?.type, 'video.input.active');
    const other = n.normalise(msg('tns1:Monitoring/OperatingTime/LastReboot', { Status: 'x' }))!;
    assert.equal(other.type, 'video.event.other');
    assert.deepEqual(other.data.data, { Status: 'x' });
    assert.equal(other.cameraTime?.toISOString(), '2024-05-01T10:00:00.000Z');
    assert.equal(n.normalise(msg('tns1:VideoSource/MotionAlarm', { State: 'maybe' }))?.type, 'video.event.other', 'unreadable state is forwarded, not dropped');
    assert.deepEqual(['ACTIVE', 'low', '1', 'off', 'x'].map(parseBool), [true, false, true, false, null]);
  });

  test('sweep targets', () => {
    assert.deepEqual(sweepTargets('10.0.0.5/30'), ['10.0.0.5', '10.0.0.6']);
    assert.deepEqual(sweepTargets('127.0.0.1/32'), ['127.0.0.1']);
    assert.throws(() => sweepTargets('10.0.0.0/8'), /limit/);
    assert.throws(() => sweepTargets('300.0.0.0/24'), /CIDR/);
  });
});
