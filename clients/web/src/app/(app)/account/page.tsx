import type { Metadata } from "next";
import { ChangePasswordForm } from "../../../components/account/ChangePasswordForm";

export const metadata: Metadata = { title: "Your account" };

export default function AccountPage() {
  return (
    <>
      <h1>Your account</h1>
      <p className="lead">
        Changing your password signs out every other session and token you hold; this one signs in again with the new
        password.
      </p>
      <ChangePasswordForm />
    </>
  );
}
