# PaperBridge: check (and with -Fix, set) that only the service account and Administrators can
# read the data folder (database, evidence, backups). Windows has no file modes; ACLs do the job.
#
#   powershell -ExecutionPolicy Bypass -File scripts\check_windows_acl.ps1 -Folder C:\PaperBridge -Account PaperBridgeSvc
#   ... -Fix     removes inherited access and grants full control to the account, SYSTEM and Administrators only
param(
    [Parameter(Mandatory = $true)][string]$Folder,
    [Parameter(Mandatory = $true)][string]$Account,
    [switch]$Fix
)
$allowed = @($Account, "NT AUTHORITY\SYSTEM", "BUILTIN\Administrators") | ForEach-Object { $_.ToLower() }
if ($Fix) {
    icacls $Folder /inheritance:r /grant:r "${Account}:(OI)(CI)F" "SYSTEM:(OI)(CI)F" "Administrators:(OI)(CI)F" /T | Out-Null
}
$problems = @()
foreach ($item in @(Get-Item $Folder) + @(Get-ChildItem -Recurse -Force $Folder)) {
    foreach ($rule in (Get-Acl $item.FullName).Access) {
        $who = $rule.IdentityReference.Value.ToLower()
        $short = $who.Split("\")[-1]
        if ($rule.AccessControlType -eq "Allow" -and -not ($allowed -contains $who -or $allowed -contains $short)) {
            $problems += "$($item.FullName): $($rule.IdentityReference) may $($rule.FileSystemRights)"
        }
    }
}
if ($problems.Count -gt 0) {
    Write-Output "Other accounts can reach PaperBridge's files:"
    $problems | ForEach-Object { Write-Output "  $_" }
    Write-Output "Run again with -Fix (as an administrator) to allow only $Account, SYSTEM and Administrators."
    exit 1
}
Write-Output "OK: only $Account, SYSTEM and Administrators can reach $Folder."
